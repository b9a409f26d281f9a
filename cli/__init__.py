"""`desa`: operator commands (migrations, topology, seeds, accounts, relay, dead letters)."""
import warnings

# nameko imports eventlet, which warns on every import; operators need not see it on each command
# (the services run under eventlet by decision, see docs/decisions).
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

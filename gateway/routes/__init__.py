"""Every blueprint of the gateway: adding a service's routes is one module and one line here."""
from gateway.routes.accounts import blp as accounts
from gateway.routes.audit import blp as audit
from gateway.routes.auth import blp as auth
from gateway.routes.families import blp as families
from gateway.routes.finance import blp as finance
from gateway.routes.health import blp as health
from gateway.routes.letters import blp as letters
from gateway.routes.potential import blp as potential
from gateway.routes.potential_public import blp as potential_public
from gateway.routes.residents import blp as residents
from gateway.routes.villages import blp as villages

BLUEPRINTS = [health, auth, villages, residents, families, letters, finance, potential,
              potential_public, audit, accounts]

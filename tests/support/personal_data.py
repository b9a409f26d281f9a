"""Finding personal numbers where they must not be: a whole NIK or No. KK in a log."""
from __future__ import annotations

import re
from pathlib import Path

# A whole NIK or No. KK: 16 digits standing alone (not inside a hex request id or a longer
# number). Logs must only ever hold masked ones (3604********0001).
WHOLE_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{16}(?![0-9A-Za-z])")


def personal_numbers_in_logs(log_dir: Path) -> list[str]:
    """Every log line of the platform's processes that carries a whole NIK or KK."""
    found = []
    for path in sorted(log_dir.glob("*.log")):
        with path.open(errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if WHOLE_NUMBER.search(line):
                    found.append(f"{path.name}:{number}: {line.strip()[:300]}")
    return found

"""Reference data shipped with the registry: Serang's villages and Indonesia's district codes."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class ReferenceVillage:
    code: str
    name: str
    district_code: str
    district_name: str
    regency_code: str
    regency_name: str
    kind: str


def _rows(filename: str) -> list[dict[str, str]]:
    with (DATA_DIR / filename).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=1)
def serang_villages() -> tuple[ReferenceVillage, ...]:
    return tuple(
        ReferenceVillage(code=row["village_code"], name=row["village_name"],
                         district_code=row["district_code"], district_name=row["district_name"],
                         regency_code=row["regency_code"], regency_name=row["regency_name"],
                         kind=row["kind"])
        for row in _rows("serang_villages.csv"))


@lru_cache(maxsize=1)
def district_prefixes() -> frozenset[str]:
    """Every known district code without dots ("36.04.05" -> "360405"): the NIK/KK prefix."""
    return frozenset(row["district_code"].replace(".", "") for row in _rows(
        "indonesia_districts.csv"))

"""Villages' digital readiness (internet, website, services active, letters, Dana Desa): one
row per village, joined in the gateway from registry, letters and finance.

The regency dashboard reads every village; a district admin (camat) only their district's. The
rows are aggregates: no resident appears in them.
"""
from __future__ import annotations

import threading
import time

from gateway.rpc import services

VILLAGE_PAGE_SIZE = 100
# The regency dashboard's rows are kept this long by each gateway process (decision 0093).
REGENCY_CACHE_SECONDS = 30.0
_regency_cache: dict[int, tuple[float, tuple[list[dict], list[dict]]]] = {}
_regency_lock = threading.Lock()


def villages(district_code: str | None = None) -> list[dict]:
    """The regency's villages (326: four RPC calls in pages of 100), or one district's."""
    registry = services().registry
    first = registry.list_villages(district_code=district_code, page=1,
                                   per_page=VILLAGE_PAGE_SIZE)
    found = list(first["items"])
    pages = -(-first["total"] // VILLAGE_PAGE_SIZE)
    for number in range(2, pages + 1):
        found += registry.list_villages(district_code=district_code, page=number,
                                        per_page=VILLAGE_PAGE_SIZE)["items"]
    return found


def readiness_rows(year: int, district_code: str | None = None) -> list[dict]:
    """One row per village: readiness from registry, activity from letters, money from finance.

    A handful of RPC calls whatever the number of villages (the pages of villages, one activity
    query, one finance query).
    """
    activity = {row["village_code"]: row for row in services().letters.recent_activity()}
    query = {"district": district_code} if district_code else {}
    # Villages without an approved budget come back with status "none": no figure, not 0 %.
    money = {row["village_code"]: row for row in services().finance.regency_view(year, query)
             if row.get("status") != "none"}
    rows = []
    for village in villages(district_code):
        code = village["code"]
        seen = activity.get(code, {})
        rows.append({
            "code": code, "name": village["name"], "district_code": village["district_code"],
            "district_name": village["district_name"],
            "internet_installed": village["internet_installed"],
            # Every village has its pages here; "live" once the village filled in its profile
            # (or runs a site of its own).
            "website": bool(village.get("website_url")
                            or (village.get("head_name") and village.get("office_address"))),
            "requested_recently": seen.get("requested_recently", 0),
            "serving": seen.get("requested_recently", 0) > 0,
            "last_request_at": seen.get("last_request_at"),
            "issued_total": seen.get("issued_total", 0),
            "realised_percent": money.get(code, {}).get("realised_percent"),
            "dana_desa_budget": money.get(code, {}).get("dana_desa_budget"),
        })
    return rows


def with_potential(rows: list[dict]) -> list[dict]:
    """Each village's businesses (not closed) and tourism sites, from one potential call (a
    grouped count by village), never one call per village."""
    counts = {row["key"]: row for row in services().potential.regency_counts(
        {"by": "village"})}
    for row in rows:
        found = counts.get(row["code"], {})
        row["businesses"] = found.get("businesses", 0)
        row["tourism_sites"] = found.get("tourism_sites", 0)
    return rows


def by_district(rows: list[dict]) -> list[dict]:
    """Villages, with internet and serving, businesses and tourism sites (rows from
    `with_potential`), counted per district (sorted by name)."""
    districts: dict[str, dict] = {}
    for row in rows:
        code = row["district_code"]
        entry = districts.setdefault(code, {
            "code": code, "name": row["district_name"], "villages": 0,
            "internet": 0, "serving": 0, "businesses": 0, "tourism_sites": 0})
        entry["villages"] += 1
        entry["internet"] += row["internet_installed"]
        entry["serving"] += row["serving"]
        entry["businesses"] += row["businesses"]
        entry["tourism_sites"] += row["tourism_sites"]
    return sorted(districts.values(), key=lambda d: d["name"])


def regency_overview(year: int) -> tuple[list[dict], list[dict]]:
    """The whole regency's rows and district totals (`readiness_rows`, `by_district`) for the
    dashboard, made at most once every REGENCY_CACHE_SECONDS per gateway process: the seven
    RPC calls behind them were most of the page's time, and aggregates half a minute old are
    what a dashboard of 30-day activity can show. Each caller gets its own copy of the lists
    and rows (their values are plain numbers and text)."""
    now = time.monotonic()
    with _regency_lock:
        kept = _regency_cache.get(year)
    if kept is None or now - kept[0] >= REGENCY_CACHE_SECONDS:
        rows = with_potential(readiness_rows(year))
        kept = (now, (rows, by_district(rows)))
        with _regency_lock:
            _regency_cache[year] = kept
    rows, districts = kept[1]
    return [dict(row) for row in rows], [dict(row) for row in districts]

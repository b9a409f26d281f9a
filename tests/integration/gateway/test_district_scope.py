"""The camat's view: a district_admin reads aggregates and readiness of their own district's
villages (API and portal), never another district's, never a resident's record.

Tested like the village scoping (test_tenancy.py): the same routes answer the district's own
admin and refuse the other district's.
"""
from __future__ import annotations

import re

import pytest

from tests.integration.gateway.conftest import (
    DISTRICT_A,
    DISTRICT_B,
    PASSWORD,
    VILLAGE_A,
    Gateway,
)
from tests.integration.gateway.test_portal_pages import log_in

pytestmark = pytest.mark.integration

SECRET_NAME = "Nama Rahasia Kecamatan"
VILLAGE_IN_B = f"{DISTRICT_B}.2001"


@pytest.fixture
def gw_all(running_services, app_factory, accounts) -> Gateway:
    """The gateway in front of every service (readiness joins registry, letters, finance)."""
    return Gateway(app_factory().test_client(), accounts)


@pytest.fixture
def resident_a(gw_all) -> dict:
    return gw_all.register(who="officer_a", village=VILLAGE_A, name=SECRET_NAME)


def test_a_district_admin_reads_only_their_districts_readiness(gw_all, resident_a):
    own = gw_all.request("GET", f"/api/v1/districts/{DISTRICT_A}/readiness", "camat_a")
    assert own.status_code == 200, own.get_json()
    rows = own.get_json()
    codes = {row["code"] for row in rows}
    assert VILLAGE_A in codes and all(code.startswith(f"{DISTRICT_A}.") for code in codes)
    assert {"internet_installed", "website", "serving", "realised_percent"} <= set(rows[0])
    body = own.get_data(as_text=True)
    assert resident_a["nik"] not in body and SECRET_NAME not in body  # aggregates only
    # The regency sees any district; the other district's admin does not see this one.
    assert gw_all.request("GET", f"/api/v1/districts/{DISTRICT_A}/readiness",
                          "admin").status_code == 200
    for who, district in (("camat_b", DISTRICT_A), ("camat_a", DISTRICT_B)):
        refused = gw_all.request("GET", f"/api/v1/districts/{district}/readiness", who)
        assert refused.status_code == 403, (who, district)
    for who in ("officer_a", "operator"):
        assert gw_all.request("GET", f"/api/v1/districts/{DISTRICT_A}/readiness",
                              who).status_code == 403


def test_a_district_admin_never_reaches_residents_even_in_their_district(gw_all, resident_a):
    nik = resident_a["nik"]
    for method, path in (("GET", f"/api/v1/villages/{VILLAGE_A}/residents"),
                         ("GET", f"/api/v1/residents/{nik}"),
                         ("GET", f"/api/v1/villages/{VILLAGE_A}/families"),
                         ("POST", f"/api/v1/residents/{nik}/pin"),
                         ("PATCH", f"/api/v1/villages/{VILLAGE_A}")):
        response = gw_all.request(method, path, "camat_a", json={} if method != "GET" else None)
        assert response.status_code == 403, (method, path, response.status_code)
        assert SECRET_NAME not in response.get_data(as_text=True)


def test_the_district_page_shows_the_districts_villages_only(gw_all, accounts, resident_a):
    client = gw_all.client
    response = client.post("/masuk", data={"cara": "petugas", "username": accounts["camat_a"],
                                           "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/kecamatan"
    assert client.get("/kecamatan").headers["Location"].endswith(f"/kecamatan/{DISTRICT_A}")
    page = client.get(f"/kecamatan/{DISTRICT_A}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-village="{VILLAGE_A}"' in html
    assert f'data-village="{VILLAGE_IN_B}"' not in html
    assert SECRET_NAME not in html and resident_a["nik"] not in html
    assert re.search(r'data-total="businesses">\d+<', html)  # the potential service's count
    assert page.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/kabupaten/desa/{VILLAGE_A}").status_code == 200  # drill down
    for path in (f"/kecamatan/{DISTRICT_B}", f"/kabupaten/desa/{VILLAGE_IN_B}", "/kabupaten",
                 "/kantor", "/kantor/penduduk", f"/kantor/penduduk/{resident_a['nik']}"):
        assert client.get(path).status_code == 403, path


def test_the_regency_admin_opens_any_district_page(gw_all, accounts):
    client = gw_all.client
    log_in(client, accounts["admin"])
    page = client.get(f"/kecamatan/{DISTRICT_B}")
    assert page.status_code == 200 and f'data-village="{VILLAGE_IN_B}"' in page.get_data(
        as_text=True)
    assert client.get("/kecamatan/36.04.99").status_code == 404


def test_the_regency_dashboard_keeps_its_aggregates_half_a_minute(gw_all, accounts,
                                                                 monkeypatch):
    from gateway import readiness

    readiness._regency_cache.clear()
    client = gw_all.client
    log_in(client, accounts["admin"])

    def village_row() -> str:
        html = client.get("/kabupaten").get_data(as_text=True)
        return re.search(rf'<tr data-village="{re.escape(VILLAGE_A)}">.*?</tr>', html, re.S)[0]

    first = village_row()
    # The link built once for the table opens the village's page.
    href = re.search(r'href="([^"]+)"', first)[1]
    assert href == f"/kabupaten/desa/{VILLAGE_A}" and client.get(href).status_code == 200
    had_internet = '<span class="badge">ya</span>' in first
    changed = gw_all.request("PATCH", f"/api/v1/villages/{VILLAGE_A}", "head_a",
                             json={"internet_installed": not had_internet})
    assert changed.status_code == 200, changed.get_json()
    try:
        assert village_row() == first  # within REGENCY_CACHE_SECONDS: the kept aggregates
        monkeypatch.setattr(readiness, "REGENCY_CACHE_SECONDS", 0.0)
        now = village_row()
        assert ('<span class="badge">ya</span>' in now) is (not had_internet)
    finally:
        gw_all.request("PATCH", f"/api/v1/villages/{VILLAGE_A}", "head_a",
                       json={"internet_installed": had_internet})

def _village_cells(html: str, village: str) -> dict[str, int]:
    row = re.search(rf'<tr data-village="{re.escape(village)}">(.*?)</tr>', html, re.S)[1]
    return {name: int(re.search(rf'class="num {name}">(\d+)<', row)[1])
            for name in ("businesses", "tourism")}


def test_the_regency_table_counts_tourism_sites_and_businesses_per_village(gw_all, accounts):
    """Each village's row has its own counts (one grouped count in potential), and the rows add
    up to the totals and the district's."""
    from gateway import readiness

    client = gw_all.client
    log_in(client, accounts["admin"])
    readiness._regency_cache.clear()  # the dashboard keeps its aggregates (decision 0093)
    before = client.get("/kabupaten").get_data(as_text=True)
    made = gw_all.request("POST", f"/api/v1/villages/{VILLAGE_A}/tourism-sites", "officer_a",
                          json={"name": "Pantai Contoh", "category": "alam",
                                "development_class": "rintisan"})
    assert made.status_code == 201, made.get_json()
    readiness._regency_cache.clear()
    page = client.get("/kabupaten")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    mine, was = _village_cells(html, VILLAGE_A), _village_cells(before, VILLAGE_A)
    assert mine["tourism"] == was["tourism"] + 1 and mine["businesses"] == was["businesses"]
    assert _village_cells(html, VILLAGE_IN_B) == _village_cells(before, VILLAGE_IN_B)
    for name, total in (("tourism", "tourism"), ("businesses", "businesses")):
        cells = [int(n) for n in re.findall(rf'class="num {name}">(\d+)<', html)]
        assert sum(cells) == int(re.search(rf'data-total="{total}">(\d+)<', html)[1])
    district = client.get(f"/kecamatan/{DISTRICT_A}").get_data(as_text=True)
    assert _village_cells(district, VILLAGE_A) == mine
    drill_down = client.get(f"/kabupaten/desa/{VILLAGE_A}").get_data(as_text=True)
    assert f'<dd data-count="tourism">{mine["tourism"]}</dd>' in drill_down
    assert f'<dd data-count="businesses">{mine["businesses"]}</dd>' in drill_down

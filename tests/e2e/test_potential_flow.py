"""Village potential through the gateway: the issue's "done when", over HTTP, every process real.

An officer registers a resident in registry; the relay carries resident.registered to
potential's read model, so the business that names them as owner is accepted. A photo, an
organisation and a tourism site follow; the public catalogue shows them without personal data;
the owner's death recorded in registry puts the business on potential's follow-up list within
seconds; search across the regency finds the tourism site by a word of its description.
"""
from __future__ import annotations

import io
import time
import uuid

import pytest
import requests
from PIL import Image

from tests.support.fakes import fake_person_nik

pytestmark = pytest.mark.e2e

VILLAGE = "36.04.09.2003"


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "green").save(out, "JPEG")
    return out.getvalue()


def until(check, timeout: float = 30.0, every: float = 0.3):
    """The first truthy result of `check` within `timeout` seconds, else the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def test_village_potential_cycle(platform):
    api = platform.api
    officer = platform.auth(platform.staff_token("officer", VILLAGE))
    admin = platform.auth(platform.staff_token("regency_admin"))
    nik, born = fake_person_nik("P", district="360409")
    resident = {"nik": nik, "name": "Ibu Emping Contoh", "sex": "P", "birth_place": "Serang",
                "birth_date": born, "religion": "Islam", "marital_status": "Kawin",
                "occupation": "Wiraswasta", "education": "SLTA/Sederajat",
                "address": {"dusun": "Pulo", "rw": "001", "rt": "002", "street": "Kp. Pulo"}}
    response = requests.post(api(f"/villages/{VILLAGE}/residents"), json=resident,
                             headers=officer, timeout=30)
    assert response.status_code == 201, response.text

    word = f"curug{uuid.uuid4().hex[:6]}"
    business_body = {
        "owner_nik": nik, "name": "Emping Melinjo Bu Contoh", "kbli": "10794",
        "sector": "kuliner", "products": [{"name": "Emping", "price": 30000}], "workers": 2,
        "capital": 20_000_000, "yearly_sales": 150_000_000,
        "address": {"dusun": "Pulo", "rw": "1", "rt": "2"}, "latitude": -6.1,
        "longitude": 106.26, "certifications": ["pirt"], "status": "active"}

    def register():
        answer = requests.post(api(f"/villages/{VILLAGE}/businesses"), json=business_body,
                               headers=officer, timeout=30)
        assert answer.status_code in (201, 422), answer.text  # 422 until the event arrives
        return answer.json() if answer.status_code == 201 else None

    business = until(register)
    assert business, "resident.registered never reached potential"
    assert business["size_class"] == "micro"

    photo = requests.post(api(f"/businesses/{business['id']}/photos"), headers=officer,
                          files={"file": ("emping.jpg", jpeg())}, timeout=30)
    assert photo.status_code == 201, photo.text
    photo = photo.json()
    served = requests.get(f"{platform.url}{photo['url']}", timeout=30)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
    assert requests.get(f"{platform.url}{photo['url']}", timeout=30, headers={
        "If-None-Match": served.headers["ETag"]}).status_code == 304
    assert requests.get(f"{platform.url}{photo['thumbnail_url']}", timeout=30).ok
    not_image = requests.post(api(f"/businesses/{business['id']}/photos"), headers=officer,
                              files={"file": ("x.jpg", b"%PDF-1.4 fake")}, timeout=30)
    assert not_image.status_code == 415

    org = requests.post(api(f"/villages/{VILLAGE}/organisations"), headers=officer, json={
        "type": "PKK", "name": "TP PKK Desa Pulo", "decree_number": "12/SK/2025",
        "decree_date": "2025-02-01", "chair_nik": nik,
        "officers": [{"nik": nik, "position": "Ketua"}], "members_female": 30}, timeout=30)
    assert org.status_code == 201, org.text
    site = requests.post(api(f"/villages/{VILLAGE}/tourism-sites"), headers=officer, json={
        "name": "Wisata Air Pulo", "category": "alam", "development_class": "rintisan",
        "description": f"Air terjun kecil {word} di tepi sawah", "ticket_price": 5000,
        "facilities": ["toilet", "parkir"], "latitude": -6.1, "longitude": 106.27}, timeout=30)
    assert site.status_code == 201, site.text

    public = {}
    for what in ("businesses", "organisations", "tourism-sites"):
        answer = requests.get(api(f"/public/villages/{VILLAGE}/{what}"), timeout=30)
        assert answer.status_code == 200
        assert nik not in answer.text and "owner_nik" not in answer.text
        public[what] = answer.json()["items"]
    assert [b["id"] for b in public["businesses"]] == [business["id"]]
    assert public["businesses"][0]["photos"][0]["id"] == photo["id"]
    assert "capital" not in public["businesses"][0]
    assert public["organisations"][0]["chair_name"] == "Ibu Emping Contoh"
    assert public["tourism-sites"][0]["name"] == "Wisata Air Pulo"

    death = {"type": "death", "date": "2026-01-10", "place": "Serang", "time": "10:30",
             "cause": "Sakit", "reporter": "Warga"}
    response = requests.post(api(f"/residents/{nik}/events"), json=death, headers=officer,
                             timeout=30)
    assert response.status_code in (200, 201), response.text
    started = time.monotonic()

    def followed_up():
        answer = requests.get(api(f"/villages/{VILLAGE}/potential/follow-ups"),
                              headers=officer, timeout=30)
        items = answer.json()["items"]
        return {item["subject_kind"] for item in items if item["nik"] == nik} == {
            "business", "organisation"} and items

    items = until(followed_up, timeout=30)
    assert items, "the death never reached potential's follow-ups"
    assert time.monotonic() - started < 30
    business_item = next(i for i in items if i["subject_kind"] == "business")
    assert business_item["subject_id"] == business["id"] and business_item["reason"] == "died"
    resolved = requests.post(api(f"/potential/follow-ups/{business_item['id']}/resolve"),
                             json={"resolution": "Usaha diteruskan anaknya"},
                             headers=officer, timeout=30)
    assert resolved.status_code == 200 and resolved.json()["resolved_at"]

    found = requests.get(api(f"/public/search?q={word}&type=tourism_site"), timeout=30)
    assert found.status_code == 200
    hits = found.json()["items"]
    assert [(h["id"], h["village_code"]) for h in hits] == [(site.json()["id"], VILLAGE)]
    counts = requests.get(api("/regency/potential?by=district"), headers=admin, timeout=30)
    assert counts.status_code == 200
    district = next(row for row in counts.json() if row["key"] == "36.04.09")
    assert district["businesses"] >= 1 and district["tourism_sites"] >= 1


def test_demo_seed_gives_the_demo_village_its_potential_once(platform, tmp_path):
    """`desa seed demo` as `make run` calls it: registry's demo residents travel through the
    relay to potential's read model, then the demo businesses (with photos), organisations,
    tourism site, resources, post and album arrive through potential's RPC; a rerun adds none."""
    credentials = str(tmp_path / "demo-credentials.json")
    first = platform.desa("seed", "demo", "--credentials-file", credentials,
                          "--wait-for-potential", "60").stdout
    assert "demo data (potential) in village 36.04.05.2001: 4 businesses" in first, first
    public = requests.get(platform.api("/public/villages/36.04.05.2001/businesses"),
                          timeout=30).json()
    assert len(public["items"]) == 4 and all(item["photos"] for item in public["items"])
    photo = requests.get(platform.url + public["items"][0]["photos"][0]["url"], timeout=30)
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
    found = requests.get(platform.api("/public/search?q=trekking&type=tourism_site"),
                         timeout=30).json()
    assert [hit["village_code"] for hit in found["items"]] == ["36.04.05.2001"]
    albums = requests.get(platform.api("/public/villages/36.04.05.2001/albums"),
                          timeout=30).json()
    assert len(albums["items"]) == 1 and len(albums["items"][0]["photos"]) == 3

    again = platform.desa("seed", "demo", "--credentials-file", credentials,
                          "--wait-for-potential", "60").stdout
    assert "demo data (potential) in village 36.04.05.2001: all there already" in again, again

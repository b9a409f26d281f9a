"""The office's potential forms (/kantor/potensi/...) through the in-process gateway in front of
the real potential and registry services: what a form saves is what the API holds and the
website shows, a refused form keeps what was typed with each error next to its field and saves
nothing, and each role gets only what it may do (the treasurer reads, a resident and another
village's officer get nothing).
"""
from __future__ import annotations

import io
import re
import uuid

import pytest

from gateway.auth import issue_token
from services.common.config import get_settings
from tests.integration.potential import test_gateway_routes as routes
from tests.integration.potential.conftest import jpeg

pytestmark = pytest.mark.integration

VILLAGE = routes.VILLAGE
api, logins, tokens, owner = routes.api, routes.logins, routes.tokens, routes.owner
services_running = routes.services_running
MULTIPART = "multipart/form-data"


def _log_in(client, username: str) -> str:
    """Log in on the portal; the CSRF token of the login."""
    response = client.post("/masuk", data={"cara": "petugas", "username": username,
                                           "password": routes.PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return re.search(r'name="csrf" value="([0-9a-f]+)"',
                     client.get("/kantor/potensi").get_data(as_text=True))[1]


def _session(api, who: str):
    client = api.client.application.test_client()
    return client, _log_in(client, api.logins[who])


def _error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    assert found, f"no error shown at {name}"
    return found[1]


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" type="[a-z]+" value="([^"]*)"', html)
    return found[1] if found else ""


def _business_form(csrf: str, owner_nik: str, name: str, **changes) -> dict:
    form = {"csrf": csrf, "name": name, "owner_nik": owner_nik, "sector": "kuliner",
            "description": "Emping melinjo goreng dan mentah.", "products.0.name": "Emping",
            "products.0.price": "25.000", "products.1.name": "", "products.1.price": "",
            "workers": "3", "capital": "50.000.000", "yearly_sales": "", "nib": "",
            "kbli": "10794", "address.dusun": "Krajan", "address.rw": "2", "address.rt": "1",
            "latitude": "-6,12", "longitude": "106,25", "certifications": ["halal", "pirt"],
            "status": "active"}
    form.update(changes)
    return form


def test_an_officer_adds_a_business_with_a_photo_and_the_website_shows_it(api, owner):
    client, csrf = _session(api, "officer")
    tag = uuid.uuid4().hex[:6]
    empty = client.get("/kantor/potensi/usaha/baru").get_data(as_text=True)
    assert 'accept="image/*" capture="environment"' in empty
    assert '<label for="f-owner_nik">NIK pemilik' in empty

    # Refused: every error next to its field, what was typed kept, nothing saved.
    refused = client.post("/kantor/potensi/usaha/baru", content_type=MULTIPART,
                          data=_business_form(csrf, "123", f"Emping {tag}", **{
                              "products.0.price": "murah", "address.rt": "0"}))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400, html[:500]
    for name in ("owner_nik", "products.0.price", "address.rt"):
        _error(html, name)
    assert 'aria-invalid="true" aria-describedby="e-owner_nik"' in html
    assert _value(html, "name") == f"Emping {tag}" and _value(html, "owner_nik") == "123"
    assert _value(html, "products.0.name") == "Emping"
    assert _value(html, "products.0.price") == "murah"
    assert 'value="halal" checked' in html and 'value="bpom" checked' not in html
    assert "Emping melinjo goreng dan mentah.</textarea>" in html
    listed = api.call("GET", f"/villages/{VILLAGE}/businesses?q={tag}", "officer").get_json()
    assert listed["total"] == 0

    # A file that is not a photo: refused before the business exists.
    not_photo = client.post("/kantor/potensi/usaha/baru", content_type=MULTIPART,
                            data=_business_form(csrf, owner["nik"], f"Emping {tag}",
                                                foto=(io.BytesIO(b"%PDF-1.4"), "ktp.pdf")))
    assert not_photo.status_code == 400 and _error(not_photo.get_data(as_text=True), "foto")
    assert api.call("GET", f"/villages/{VILLAGE}/businesses?q={tag}",
                    "officer").get_json()["total"] == 0

    saved = client.post("/kantor/potensi/usaha/baru", content_type=MULTIPART,
                        data=_business_form(csrf, owner["nik"], f"Emping {tag}",
                                            keterangan_foto="Emping siap jual",
                                            foto=(io.BytesIO(jpeg()), "emping.jpg")))
    assert saved.status_code == 303, saved.get_data(as_text=True)[:800]
    business_id = saved.headers["Location"].split("/kantor/potensi/usaha/")[1].split("?")[0]
    held = api.call("GET", f"/businesses/{business_id}", "officer").get_json()
    assert held["products"] == [{"name": "Emping", "price": 25000}]
    assert held["capital"] == 50_000_000 and held["yearly_sales"] is None
    assert held["address"] == {"dusun": "Krajan", "rw": "002", "rt": "001"}
    assert held["latitude"] == -6.12 and held["certifications"] == ["halal", "pirt"]
    assert [photo["caption"] for photo in held["photos"]] == ["Emping siap jual"]

    # The edit form shows what the API holds, and a change goes through.
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert _value(page, "capital") == "50000000" and _value(page, "address.rt") == "001"
    assert held["photos"][0]["thumbnail_url"] in page
    changed = client.post(f"/kantor/potensi/usaha/{business_id}", content_type=MULTIPART,
                          data=_business_form(csrf, owner["nik"], f"Emping {tag}",
                                              capital="6.000.000.000"))
    assert changed.status_code == 303, changed.get_data(as_text=True)[:800]
    held = api.call("GET", f"/businesses/{business_id}", "officer").get_json()
    assert held["size_class"] == "medium" and len(held["photos"]) == 1

    listed = client.get(f"/kantor/potensi/usaha?q={tag}&size_class=medium")
    assert f"Emping {tag}" in listed.get_data(as_text=True)
    assert f"Emping {tag}" not in client.get(
        f"/kantor/potensi/usaha?q={tag}&size_class=micro").get_data(as_text=True)

    catalogue = api.client.application.test_client().get(f"/desa/{VILLAGE}/potensi")
    text = catalogue.get_data(as_text=True)
    assert f"Emping {tag}" in text and held["photos"][0]["thumbnail_url"] in text
    assert owner["nik"] not in text


def test_tourism_organisation_resource_album_and_profile_forms(api, owner):
    client, csrf = _session(api, "head")
    tag = uuid.uuid4().hex[:6]
    site = client.post("/kantor/potensi/wisata/baru", content_type=MULTIPART, data={
        "csrf": csrf, "name": f"Curug {tag}", "category": "alam",
        "development_class": "rintisan", "facilities": "Toilet\n\nParkir\n",
        "ticket_price": "5.000", "foto": (io.BytesIO(jpeg()), "curug.jpg")})
    assert site.status_code == 303, site.get_data(as_text=True)[:800]
    site_id = site.headers["Location"].split("/wisata/")[1].split("?")[0]
    held = api.call("GET", f"/tourism-sites/{site_id}", "officer").get_json()
    assert held["facilities"] == ["Toilet", "Parkir"] and held["ticket_price"] == 5000
    assert len(held["photos"]) == 1

    refused = client.post("/kantor/potensi/lembaga/baru", data={
        "csrf": csrf, "type": "PKK", "name": f"PKK {tag}", "officers.0.nik": "999",
        "officers.0.position": "Bendahara", "members_female": "12"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and _error(html, "officers.0.nik")
    assert _value(html, "officers.0.position") == "Bendahara"
    made = client.post("/kantor/potensi/lembaga/baru", data={
        "csrf": csrf, "type": "PKK", "name": f"PKK {tag}", "chair_nik": owner["nik"],
        "officers.0.nik": owner["nik"], "officers.0.position": "Bendahara",
        "decree_date": "2024-02-01", "members_female": "12", "members_male": ""})
    assert made.status_code == 303, made.get_data(as_text=True)[:800]
    org_id = made.headers["Location"].split("/lembaga/")[1].split("?")[0]
    held = api.call("GET", f"/organisations/{org_id}", "officer").get_json()
    assert [(o["nik"], o["position"]) for o in held["officers"]] == [(owner["nik"],
                                                                       "Bendahara")]
    assert held["members_male"] == 0 and held["decree_date"] == "2024-02-01"

    wrong_unit = client.post("/kantor/potensi/sumber-daya/baru", data={
        "csrf": csrf, "kind": "livestock", "name": f"Sapi {tag}", "quantity": "120",
        "unit": "ton", "year": "2025"})
    assert wrong_unit.status_code == 400
    html = wrong_unit.get_data(as_text=True)
    assert "ekor" in _error(html, "unit") and _value(html, "name") == f"Sapi {tag}"
    made = client.post("/kantor/potensi/sumber-daya/baru", data={
        "csrf": csrf, "kind": "livestock", "name": f"Sapi {tag}", "quantity": "120",
        "unit": "ekor", "year": "2025"})
    assert made.status_code == 303
    listed = client.get("/kantor/potensi/sumber-daya?kind=livestock&year=2025")
    assert f"Sapi {tag}" in listed.get_data(as_text=True)
    resource_id = made.headers["Location"].rsplit("=", 1)[1]
    edit = f"/kantor/potensi/sumber-daya/{resource_id}"
    assert _value(client.get(edit).get_data(as_text=True), "quantity") == "120"
    assert client.post(edit, data={"csrf": csrf, "kind": "livestock", "name": f"Sapi {tag}",
                                   "quantity": "130,5", "unit": "ekor",
                                   "year": "2025"}).status_code == 303
    assert api.call("GET", f"/resources/{resource_id}", "treasurer").get_json()[
        "quantity"] == 130.5
    assert api.call("GET", f"/resources/{resource_id}", "other").status_code == 404
    assert client.post(f"/kantor/potensi/sumber-daya/{resource_id}/hapus",
                       data={"csrf": csrf}).status_code == 303
    assert f"Sapi {tag}" not in client.get("/kantor/potensi/sumber-daya").get_data(
        as_text=True)

    album = client.post("/kantor/potensi/galeri/baru", content_type=MULTIPART, data={
        "csrf": csrf, "title": f"Panen {tag}", "status": "published",
        "foto": [(io.BytesIO(jpeg()), "a.jpg"), (io.BytesIO(jpeg((600, 900))), "b.jpg")]})
    assert album.status_code == 303, album.get_data(as_text=True)[:800]
    album_id = album.headers["Location"].split("/galeri/")[1].split("?")[0]
    assert len(api.call("GET", f"/albums/{album_id}", "officer").get_json()["photos"]) == 2

    profile = client.post("/kantor/potensi/profil", content_type=MULTIPART, data={
        "csrf": csrf, "vision": f"Desa maju {tag}", "mission": "Melayani warga.",
        "area_hectares": "312,5", "boundaries.north": "Desa Utara",
        "officials.0.name": "H. Contoh", "officials.0.position": "Kepala Desa",
        "officials.1.name": "", "officials.1.position": "",
        "foto": (io.BytesIO(jpeg()), "kantor.jpg")})
    assert profile.status_code == 303, profile.get_data(as_text=True)[:800]
    held = api.call("GET", f"/villages/{VILLAGE}/profile", "officer").get_json()
    assert held["vision"] == f"Desa maju {tag}" and held["area_hectares"] == 312.5
    assert held["boundaries"]["north"] == "Desa Utara"
    assert [(o["name"], o["position"]) for o in held["officials"]] == [("H. Contoh",
                                                                         "Kepala Desa")]
    page = client.get("/kantor/potensi/profil").get_data(as_text=True)
    assert _value(page, "officials.0.name") == "H. Contoh"
    assert f'<option value="{held["photos"][-1]["id"]}"' in page  # an official's photo
    public = api.client.application.test_client()
    assert f"PKK {tag}" in public.get(f"/desa/{VILLAGE}/lembaga").get_data(as_text=True)
    assert f"Panen {tag}" in public.get(f"/desa/{VILLAGE}/galeri").get_data(as_text=True)


def _resident_cookie(client) -> None:
    token, _ = issue_token({"subject": "res-forms", "role": "resident",
                            "village_code": VILLAGE, "nik": "3604115506880001"},
                           get_settings())
    client.set_cookie("desa_sesi", token)


def test_two_people_editing_one_entry_do_not_undo_each_other(api, owner):
    """Officer and head open the same business; the head saves first. The officer's save, made
    from the page opened before, is refused with the reason in Indonesian and the typed input
    kept; saving again (now from the current version) goes through deliberately."""
    tag = uuid.uuid4().hex[:6]
    made = api.call("POST", f"/villages/{VILLAGE}/businesses", "officer",
                    json=routes.business_data(owner["nik"], name=f"Emping {tag}"))
    business_id = made.get_json()["id"]
    edit = f"/kantor/potensi/usaha/{business_id}"
    officer, officer_csrf = _session(api, "officer")
    head, head_csrf = _session(api, "head")
    opened = officer.get(edit).get_data(as_text=True)
    version = re.search(r'name="versi" value="([^"]+)"', opened)[1]
    assert version == made.get_json()["updated_at"]
    assert head.get(edit).status_code == 200
    assert head.post(edit, content_type=MULTIPART, data=_business_form(
        head_csrf, owner["nik"], f"Emping {tag}", workers="9",
        versi=version)).status_code == 303

    refused = officer.post(edit, content_type=MULTIPART, data=_business_form(
        officer_csrf, owner["nik"], f"Emping {tag} Bu Siti", workers="4", versi=version))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400, html[:500]
    assert "sudah diubah orang lain" in html
    assert _value(html, "name") == f"Emping {tag} Bu Siti" and _value(html, "workers") == "4"
    held = api.call("GET", f"/businesses/{business_id}", "officer").get_json()
    assert held["workers"] == 9 and held["name"] == f"Emping {tag}"

    current = re.search(r'name="versi" value="([^"]+)"', html)[1]
    assert current == held["updated_at"] != version
    again = officer.post(edit, content_type=MULTIPART, data=_business_form(
        officer_csrf, owner["nik"], f"Emping {tag} Bu Siti", workers="4", versi=current))
    assert again.status_code == 303, again.get_data(as_text=True)[:500]
    assert api.call("GET", f"/businesses/{business_id}", "officer").get_json()["workers"] == 4


def test_each_role_gets_only_what_it_may(api, owner):
    officer, csrf = _session(api, "officer")
    tag = uuid.uuid4().hex[:6]
    made = officer.post("/kantor/potensi/usaha/baru",
                        data=_business_form(csrf, owner["nik"], f"Rahasia {tag}"))
    assert made.status_code == 303, made.get_data(as_text=True)[:800]
    entry = made.headers["Location"].split("?")[0]

    # The treasurer reads the list but has no form and cannot write.
    treasurer, t_csrf = _session(api, "treasurer")
    listed = treasurer.get("/kantor/potensi/usaha").get_data(as_text=True)
    assert f"Rahasia {tag}" in listed and "/kantor/potensi/usaha/baru" not in listed
    assert treasurer.get("/kantor/potensi/usaha/baru").status_code == 403
    assert treasurer.get(entry).status_code == 403
    assert treasurer.post(entry, data=_business_form(t_csrf, owner["nik"],
                                                     "Diubah")).status_code == 403
    assert treasurer.get("/kantor/potensi/profil").status_code == 403

    # Another village's officer: not found, and not in their lists.
    other, o_csrf = _session(api, "other")
    assert other.get(entry).status_code == 404
    assert other.post(entry, data=_business_form(o_csrf, owner["nik"],
                                                 "Diubah")).status_code == 404
    assert f"Rahasia {tag}" not in other.get("/kantor/potensi/usaha").get_data(as_text=True)

    # A resident, and the regency admin (no village office), get nothing here.
    resident = api.client.application.test_client()
    _resident_cookie(resident)
    for path in ("/kantor/potensi", "/kantor/potensi/usaha", entry):
        assert resident.get(path).status_code == 403, path
    admin = api.client.application.test_client()
    assert admin.post("/masuk", data={"cara": "petugas", "username": api.logins["admin"],
                                      "password": routes.PASSWORD}).status_code == 303
    assert admin.get("/kantor/potensi/usaha").status_code == 403
    held = api.call("GET", entry.replace("/kantor/potensi/usaha/", "/businesses/"),
                    "officer").get_json()
    assert held["name"] == f"Rahasia {tag}"  # nobody above changed it

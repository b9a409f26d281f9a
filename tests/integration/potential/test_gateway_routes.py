"""Potential through the gateway (Flask test client of create_app()) in front of the REAL
potential and registry services in nameko containers, on this run's PostgreSQL, RabbitMQ and
SeaweedFS. Owners reach potential's resident read model through the handlers' own function.

Nothing here depends on what other tests left behind: villages of district 36.04.09 are used by
no other folder, each test makes its own accounts, businesses and photos, and assertions look at
the rows each test made (never at whole-database counts).
"""
from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from gateway.app import create_app
from services.common.service import unit_of_work
from services.potential.app import followups
from tests.integration.potential.conftest import business_data, jpeg, resident
from tests.support.photos import SECRETS, phone_photo

pytestmark = pytest.mark.integration

VILLAGE = "36.04.09.2001"
OTHER = "36.04.09.2002"
PASSWORD = "correct-horse-battery-potential"


@pytest.fixture(scope="module")
def logins(registry_engine) -> dict[str, str]:
    from services.registry.app.accounts import create_account

    suffix = uuid.uuid4().hex[:6]
    wanted = {"officer": ("officer", VILLAGE), "head": ("head", VILLAGE),
              "treasurer": ("treasurer", VILLAGE), "other": ("officer", OTHER),
              "admin": ("regency_admin", None), "operator": ("operator", None)}
    names = {}
    with Session(registry_engine) as session, unit_of_work(session):
        for key, (role, village) in wanted.items():
            names[key] = f"pot.{key}.{suffix}"
            create_account(session, role, names[key], PASSWORD, village)
    return names


@pytest.fixture
def services_running(container_factory, nameko_config, potential_engine, potential_store):
    from services.potential.service import PotentialService
    from services.registry.service import RegistryService

    for cls in (RegistryService, PotentialService):
        container_factory(cls, nameko_config).start()


class Client:
    def __init__(self, client, logins: dict[str, str], tokens: dict[str, str]):
        self.client = client
        self.logins = logins
        self.tokens = tokens  # kept for the module: argon2 makes each login cost

    def headers(self, who: str | None) -> dict:
        if who is None:
            return {}
        if who not in self.tokens:
            response = self.client.post("/api/v1/auth/login", json={
                "username": self.logins[who], "password": PASSWORD})
            assert response.status_code == 200, response.get_json()
            self.tokens[who] = response.get_json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(self, method: str, path: str, who: str | None = None, **kwargs):
        headers = {**self.headers(who), **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def photo(self, path: str, data: bytes, who: str = "officer", name: str = "foto.jpg"):
        return self.call("POST", path, who, data={"file": (io.BytesIO(data), name),
                                                  "caption": "Produk"},
                         content_type="multipart/form-data")


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return {}


@pytest.fixture
def api(services_running, logins, tokens, migrated):
    app = create_app()
    yield Client(app.test_client(), logins, tokens)
    app.extensions["desa"]["rpc"].close_all()


@pytest.fixture
def owner(potential_engine) -> dict:
    data = resident(VILLAGE, name="Ibu Pemilik")
    with Session(potential_engine) as session, unit_of_work(session):
        followups.apply_resident(session, data)
    return data


def _business(api, owner, **changes) -> dict:
    response = api.call("POST", f"/villages/{VILLAGE}/businesses", "officer",
                        json=business_data(owner["nik"], **changes))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_register_read_change_and_list_a_business(api, owner):
    made = _business(api, owner, name=f"Emping {uuid.uuid4().hex[:6]}")
    assert made["size_class"] == "micro" and made["id"]
    read = api.call("GET", f"/businesses/{made['id']}", "treasurer")
    assert read.status_code == 200 and read.get_json() == made
    changed = api.call("PATCH", f"/businesses/{made['id']}", "head",
                       json={"capital": 6_000_000_000})
    assert changed.status_code == 200 and changed.get_json()["size_class"] == "medium"
    listed = api.call("GET", f"/villages/{VILLAGE}/businesses?size_class=medium&q="
                      f"{made['name'][-6:]}", "admin")
    assert [b["id"] for b in listed.get_json()["items"]] == [made["id"]]


def test_a_change_made_from_an_old_version_is_refused_not_lost(api, owner):
    """Two officers open the same business; the second save, made from the version before the
    first one's, is 412 with nothing changed instead of silently undoing the first."""
    made = _business(api, owner)
    path = f"/businesses/{made['id']}"
    read = api.call("GET", path, "officer")
    etag = read.headers["ETag"]
    assert etag == f'"{made["updated_at"]}"'
    first = api.call("PATCH", path, "head", json={"workers": 7}, headers={"If-Match": etag})
    assert first.status_code == 200, first.get_json()
    assert first.headers["ETag"] != etag and first.get_json()["workers"] == 7
    stale = api.call("PATCH", path, "officer", json={"workers": 2},
                     headers={"If-Match": etag})
    assert stale.status_code == 412, stale.get_json()
    assert stale.get_json()["error"]["code"] == "precondition_failed"
    assert api.call("GET", path, "officer").get_json()["workers"] == 7
    again = api.call("PATCH", path, "officer", json={"workers": 2},
                     headers={"If-Match": first.headers["ETag"]})
    assert again.status_code == 200 and again.get_json()["workers"] == 2
    # without If-Match (or with *) the last save wins, as before
    assert api.call("PATCH", path, "officer", json={"workers": 3}).status_code == 200
    assert api.call("PATCH", path, "officer", json={"workers": 4},
                    headers={"If-Match": "*"}).status_code == 200
    garbage = api.call("PATCH", path, "officer", json={"workers": 5},
                       headers={"If-Match": '"yesterday"'})
    assert garbage.status_code == 400
    assert api.call("GET", path, "officer").get_json()["workers"] == 4


@pytest.mark.parametrize("kind", ["tourism-sites", "organisations", "resources", "albums",
                                  "posts", "profile"])
def test_every_editable_kind_refuses_an_old_version(api, kind):
    if kind == "profile":
        path = f"/villages/{VILLAGE}/profile"
        made = api.call("PATCH", path, "officer", json={"vision": "Maju"}).get_json()
        change = {"vision": "Maju bersama"}
    else:
        body = {"tourism-sites": {"name": "Curug", "category": "alam",
                                  "development_class": "rintisan"},
                "organisations": {"type": "PKK", "name": "PKK Melati"},
                "resources": {"kind": "livestock", "name": "Sapi", "quantity": 12,
                              "unit": "ekor", "year": 2025},
                "albums": {"title": "Panen raya"},
                "posts": {"title": "Kerja bakti", "body": "Minggu pagi."}}[kind]
        made = api.call("POST", f"/villages/{VILLAGE}/{kind}", "officer", json=body)
        assert made.status_code == 201, made.get_json()
        made = made.get_json()
        path = f"/{kind}/{made['id']}"
        change = {"name": "Baru"} if "name" in body else {"title": "Baru"}
    old = f'"{made["updated_at"]}"'
    assert api.call("PATCH", path, "head", json=change,
                    headers={"If-Match": old}).status_code == 200
    refused = api.call("PATCH", path, "officer", json=change, headers={"If-Match": old})
    assert refused.status_code == 412, refused.get_json()


def test_who_may_do_what(api, owner):
    made = _business(api, owner)
    path = f"/businesses/{made['id']}"
    assert api.call("GET", path).status_code == 401
    assert api.call("GET", path, "other").status_code == 404
    assert api.call("PATCH", path, "other", json={"name": "X"}).status_code == 404
    assert api.call("PATCH", path, "treasurer", json={"name": "X"}).status_code == 403
    assert api.call("PATCH", path, "admin", json={"name": "X"}).status_code == 403
    assert api.call("GET", path, "operator").status_code == 403
    assert api.call("POST", f"/villages/{VILLAGE}/businesses", "other",
                    json=business_data(owner["nik"])).status_code == 403
    assert api.call("GET", f"/villages/{VILLAGE}/businesses", "other").status_code == 403
    assert api.call("GET", "/regency/potential", "officer").status_code == 403
    assert api.call("GET", "/regency/potential?by=sector", "admin").status_code == 200


BAD_INPUT = [
    ("businesses", {"sector": "astrologi"}, "sector"),
    ("businesses", {"certifications": ["jimat"]}, "certifications"),
    ("businesses", {"capital": 10.5}, "capital"),
    ("businesses", {"name": "Warung\x00"}, "name"),
    ("businesses", {"latitude": 40.0, "longitude": 106.0}, "latitude"),
    ("organisations", {"type": "Arisan", "name": "X"}, "type"),
    ("tourism-sites", {"name": "X", "category": "alam", "development_class": "super"},
     "development_class"),
    ("resources", {"kind": "gold", "name": "X", "quantity": 1, "unit": "ton", "year": 2025},
     "kind"),
]


def test_unknown_values_are_400_naming_the_field(api, owner):
    for path, body, field in BAD_INPUT:
        if path == "businesses":
            body = business_data(owner["nik"], **body)
        response = api.call("POST", f"/villages/{VILLAGE}/{path}", "officer", json=body)
        assert response.status_code == 400, (path, body, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "validation_error" and field in error["fields"], error


def test_search_and_list_arguments_are_checked_too(api):
    for path, field in (("/public/search?type=person", "type"),
                        ("/public/search?district_code=3604", "district_code"),
                        (f"/public/villages/{VILLAGE}/businesses?sector=x", "sector")):
        response = api.call("GET", path)
        assert response.status_code == 400 and field in response.get_json()["error"]["fields"]
    for path in ("/public/villages/not-a-village/posts", "/public/villages/36.04.09/profile",
                 "/public/villages/36.04.09.2001%00/businesses"):
        assert api.call("GET", path).status_code == 404, path
    assert api.call("GET", "/villages/36.04.09.20/businesses", "admin").status_code == 404
    response = api.call("GET", "/regency/potential?by=religion", "admin")
    assert response.status_code == 400 and "by" in response.get_json()["error"]["fields"]


def test_a_photo_is_served_with_etag_thumbnail_and_caching(api, owner):
    business = _business(api, owner)
    original = jpeg((1200, 800), "orange")
    response = api.photo(f"/businesses/{business['id']}/photos", original)
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    full = api.client.get(photo["url"])
    assert full.status_code == 200 and full.data == original
    assert full.mimetype == "image/jpeg"
    assert full.headers["Cache-Control"].startswith("public")
    etag = full.headers["ETag"]
    again = api.client.get(photo["url"], headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    thumb = api.client.get(photo["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["ETag"] != etag
    with Image.open(io.BytesIO(thumb.data)) as image:
        assert max(image.size) == 320
    listed = api.call("GET", f"/public/villages/{VILLAGE}/businesses?per_page=100")
    mine = [b for b in listed.get_json()["items"] if b["id"] == business["id"]]
    assert mine[0]["photos"][0]["thumbnail_url"] == photo["thumbnail_url"]


def test_a_phones_photo_is_never_stored_or_served_with_its_gps(api, owner, potential_engine,
                                                              potential_store):
    business = _business(api, owner)
    response = api.photo(f"/businesses/{business['id']}/photos", phone_photo())
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()
    assert (photo["width"], photo["height"]) == (600, 800)
    with potential_engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT object_key, thumbnail_key FROM photos WHERE id = "
                                    ":id"), {"id": photo["id"]}).one()
    stored = [potential_store.get_bytes(key) for key in keys]
    served = []
    for url in (photo["url"], photo["thumbnail_url"]):
        response = api.client.get(url)
        assert response.status_code == 200
        served.append(response.get_data())  # read before the next request (a stream)
    assert served == stored
    for data in stored:
        assert [secret for secret in SECRETS if secret in data] == []
        with Image.open(io.BytesIO(data)) as image:
            assert dict(image.getexif()) == {} and image.height > image.width


def test_a_file_that_is_not_an_image_is_415(api, owner):
    business = _business(api, owner)
    for data in (b"%PDF-1.4\n%fake", b"just text, named .jpg"):
        response = api.photo(f"/businesses/{business['id']}/photos", data)
        assert response.status_code == 415, response.get_json()
        assert response.get_json()["error"]["code"] == "unsupported_media_type"
    missing = api.call("POST", f"/businesses/{business['id']}/photos", "officer", data={},
                       content_type="multipart/form-data")
    assert missing.status_code == 400
    read = api.call("GET", f"/businesses/{business['id']}", "officer").get_json()
    assert read["photos"] == []


def test_a_draft_posts_photo_is_not_public(api):
    post = api.call("POST", f"/villages/{VILLAGE}/posts", "officer",
                    json={"title": "Rapat", "body": "Draf"}).get_json()
    photo = api.photo(f"/posts/{post['id']}/photos", jpeg()).get_json()
    assert api.client.get(photo["url"]).status_code == 404
    assert api.client.get(photo["thumbnail_url"]).status_code == 404
    assert api.call("GET", photo["url"][len("/api/v1"):], "other").status_code == 404
    staff = api.call("GET", photo["url"][len("/api/v1"):], "officer")
    assert staff.status_code == 200 and "public" not in staff.headers["Cache-Control"]
    public = api.call("GET", f"/public/villages/{VILLAGE}/posts?per_page=100").get_json()
    assert post["id"] not in [p["id"] for p in public["items"]]
    published = api.call("PATCH", f"/posts/{post['id']}", "officer",
                         json={"status": "published"})
    assert published.status_code == 200
    assert api.client.get(photo["url"]).status_code == 200
    public = api.call("GET", f"/public/villages/{VILLAGE}/posts?per_page=100").get_json()
    assert post["id"] in [p["id"] for p in public["items"]]
    assert api.call("DELETE", f"/posts/{post['id']}", "officer").status_code == 204
    assert api.client.get(photo["url"]).status_code == 404


def test_albums_through_the_gateway(api):
    album = api.call("POST", f"/villages/{VILLAGE}/albums", "officer",
                     json={"title": "Panen raya"}).get_json()
    assert album["status"] == "draft"
    photo = api.photo(f"/albums/{album['id']}/photos", jpeg())
    assert photo.status_code == 201
    changed = api.call("PATCH", f"/albums/{album['id']}", "head",
                       json={"status": "published", "title": "Panen raya 2026"})
    assert changed.status_code == 200 and changed.get_json()["title"] == "Panen raya 2026"
    public = api.call("GET", f"/public/villages/{VILLAGE}/albums?per_page=100").get_json()
    assert album["id"] in [a["id"] for a in public["items"]]
    assert api.call("DELETE", f"/albums/{album['id']}", "other").status_code == 404
    assert api.call("DELETE", f"/albums/{album['id']}", "officer").status_code == 204
    assert api.call("GET", f"/albums/{album['id']}", "officer").status_code == 404
    assert api.client.get(photo.get_json()["url"]).status_code == 404


def test_public_catalogue_has_no_personal_data(api, owner):
    word = f"kw{uuid.uuid4().hex[:6]}"
    business = _business(api, owner, name=f"Sambal {word}")
    org = api.call("POST", f"/villages/{VILLAGE}/organisations", "officer", json={
        "type": "Karang Taruna", "name": f"Karang Taruna {word}", "chair_nik": owner["nik"],
        "officers": [{"nik": owner["nik"], "position": "Ketua"}]})
    assert org.status_code == 201
    site = api.call("POST", f"/villages/{VILLAGE}/tourism-sites", "officer", json={
        "name": "Situ Ciruas", "category": "alam", "development_class": "rintisan",
        "description": f"Danau kecil {word}"})
    assert site.status_code == 201
    bodies = []
    for what in ("businesses", "organisations", "tourism-sites"):
        response = api.call("GET", f"/public/villages/{VILLAGE}/{what}?per_page=100")
        assert response.status_code == 200
        bodies.append(response.get_data(as_text=True))
    search = api.call("GET", f"/public/search?q={word}")
    assert search.status_code == 200
    assert {h["type"] for h in search.get_json()["items"]} == {
        "business", "organisation", "tourism_site"}
    bodies.append(search.get_data(as_text=True))
    for body in bodies:
        assert owner["nik"] not in body and "owner_nik" not in body and "capital" not in body
    assert business["id"] in bodies[0]


def test_profile_public_and_follow_ups_routes(api, owner):
    changed = api.call("PATCH", f"/villages/{VILLAGE}/profile", "head",
                       json={"vision": "Ciruas maju", "latitude": -6.11, "longitude": 106.23})
    assert changed.status_code == 200, changed.get_json()
    public = api.call("GET", f"/public/villages/{VILLAGE}/profile")
    assert public.status_code == 200 and public.get_json()["vision"] == "Ciruas maju"
    assert api.call("PATCH", f"/villages/{VILLAGE}/profile", "other",
                    json={"vision": "X"}).status_code == 403
    follow_ups = api.call("GET", f"/villages/{VILLAGE}/potential/follow-ups", "officer")
    assert follow_ups.status_code == 200 and "items" in follow_ups.get_json()
    assert api.call("GET", f"/villages/{VILLAGE}/potential/follow-ups",
                    "other").status_code == 403


def test_every_potential_route_is_in_the_openapi_document(api):
    spec = api.client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/villages/{code}/businesses", "/api/v1/businesses/{business_id}/photos",
                 "/api/v1/public/search", "/api/v1/photos/{photo_id}/thumbnail",
                 "/api/v1/villages/{code}/potential/follow-ups", "/api/v1/regency/potential",
                 "/api/v1/public/villages/{code}/tourism-sites", "/api/v1/albums/{album_id}"):
        assert path in spec["paths"], path


def test_the_read_model_is_untouched_by_a_missing_resident(api, potential_engine):
    stranger = resident(VILLAGE)["nik"]
    response = api.call("POST", f"/villages/{VILLAGE}/businesses", "officer",
                        json=business_data(stranger))
    assert response.status_code == 422 and "owner_nik" in response.get_json()["error"]["fields"]
    with potential_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM businesses WHERE owner_nik = :n"),
                           {"n": stranger}) == 0

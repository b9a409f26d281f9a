"""The village website's own content on the portal (news, articles, gallery, businesses and
tourism, organisations) through the in-process gateway in front of the real potential and
registry services: published only, no owner or NIK, lazy thumbnails, meta and Open Graph tags.
"""
from __future__ import annotations

import io
import re
import uuid

import pytest

from tests.integration.potential import test_gateway_routes as routes
from tests.integration.potential.conftest import business_data, jpeg

pytestmark = pytest.mark.integration

VILLAGE = routes.VILLAGE
# The API client, its logins and a living owner: the same fixtures as the potential API tests.
api, logins, tokens, owner = routes.api, routes.logins, routes.tokens, routes.owner
services_running = routes.services_running


def _made(response, status: int = 201) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def content(api, owner) -> dict:
    tag = uuid.uuid4().hex[:6]
    news = _made(api.call("POST", f"/villages/{VILLAGE}/posts", "officer", json={
        "title": f"Kerja bakti {tag}", "body": "Warga membersihkan saluran air. <b>x</b>",
        "status": "published"}))
    _made(api.photo(f"/posts/{news['id']}/photos", jpeg((1200, 800))))
    draft = _made(api.call("POST", f"/villages/{VILLAGE}/posts", "officer", json={
        "title": f"Rancangan {tag}", "body": "Belum terbit.", "status": "draft"}))
    album = _made(api.call("POST", f"/villages/{VILLAGE}/albums", "officer", json={
        "title": f"Panen raya {tag}", "status": "published"}))
    _made(api.photo(f"/albums/{album['id']}/photos", jpeg((600, 900))))
    business = _made(api.call("POST", f"/villages/{VILLAGE}/businesses", "officer",
                              json=business_data(owner["nik"], name=f"Emping {tag}")))
    _made(api.photo(f"/businesses/{business['id']}/photos", jpeg()))
    site = _made(api.call("POST", f"/villages/{VILLAGE}/tourism-sites", "officer", json={
        "name": f"Curug {tag}", "category": "alam", "development_class": "rintisan",
        "facilities": ["toilet", "parkir"], "ticket_price": 5000}))
    organisation = _made(api.call("POST", f"/villages/{VILLAGE}/organisations", "officer", json={
        "type": "PKK", "name": f"PKK {tag}", "chair_nik": owner["nik"],
        "members_female": 12}))
    return {"tag": tag, "news": news, "draft": draft, "album": album, "business": business,
            "site": site, "organisation": organisation}


def _page(api, path: str, status: int = 200) -> str:
    response = api.client.get(path)
    assert response.status_code == status, (path, response.status_code)
    if status == 200:
        assert response.headers["Cache-Control"] == "public, max-age=60"
    return response.get_data(as_text=True)


def test_news_shows_published_posts_only_with_meta_and_open_graph(api, content):
    tag, news = content["tag"], content["news"]
    listed = _page(api, f"/desa/{VILLAGE}/berita")
    assert f"Kerja bakti {tag}" in listed and f"Rancangan {tag}" not in listed
    article = _page(api, f"/desa/{VILLAGE}/berita/{news['id']}")
    assert "Warga membersihkan saluran air." in article
    assert "<b>x</b>" not in article  # HTML in a body stays text
    description = re.search(r'<meta name="description" content="([^"]*)"', article)[1]
    assert description.startswith("Warga membersihkan saluran air.")
    assert f'<meta property="og:title" content="Kerja bakti {tag}' in article
    assert '<meta property="og:type" content="article">' in article
    assert re.search(r'<meta property="og:image" content="http://[^"]+/api/v1/photos/[^"]+/'
                     r'thumbnail">', article)
    assert 'loading="lazy"' in article and 'width="320" height="213"' in article
    # A draft, an unknown id and another village's address are all simply not there.
    for path in (f"/desa/{VILLAGE}/berita/{content['draft']['id']}",
                 f"/desa/{VILLAGE}/berita/{uuid.uuid4()}", f"/desa/{VILLAGE}/berita/nope",
                 f"/desa/36.04.09.2002/berita/{news['id']}"):
        _page(api, path, 404)


def test_gallery_catalogue_and_organisations_show_no_personal_data(api, owner, content):
    tag = content["tag"]
    gallery = _page(api, f"/desa/{VILLAGE}/galeri")
    assert f"Panen raya {tag}" in gallery
    thumbs = re.findall(r'<img src="(/api/v1/photos/[^"]+/thumbnail)"[^>]*loading="lazy"',
                        gallery)
    assert thumbs and api.client.get(thumbs[0]).headers["Cache-Control"].startswith("public")
    catalogue = _page(api, f"/desa/{VILLAGE}/potensi")
    assert f"Emping {tag}" in catalogue and f"Curug {tag}" in catalogue
    assert "Emping melinjo" in catalogue and "Rp5.000" in catalogue
    organisations = _page(api, f"/desa/{VILLAGE}/lembaga")
    assert f"PKK {tag}" in organisations
    for html in (gallery, catalogue, organisations):
        assert owner["nik"] not in html
    # A business's owner and money figures are not public; an organisation's chair is, by name.
    assert owner["name"] not in catalogue and "50.000.000" not in catalogue
    assert owner["name"] in organisations
    _page(api, "/desa/36.04.99.2999/potensi", 404)


def _log_in(client, username: str) -> str:
    response = client.post("/masuk", data={"cara": "petugas", "username": username,
                                           "password": routes.PASSWORD})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return re.search(r'name="csrf" value="([0-9a-f]+)"',
                     client.get("/kantor/berita").get_data(as_text=True))[1]


def test_an_officer_posts_news_with_a_photo_that_the_website_shows(api, logins):
    client, tag = api.client, uuid.uuid4().hex[:6]
    csrf = _log_in(client, logins["officer"])
    refused = client.post("/kantor/berita", content_type="multipart/form-data", data={
        "csrf": csrf, "title": f"Salah berkas {tag}", "kind": "news", "body": "Isi.",
        "aksi": "terbit", "foto": (io.BytesIO(b"%PDF-1.4 not a photo"), "x.pdf")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="e-foto"' in html
    assert f'value="Salah berkas {tag}"' in html  # what was typed stays
    posted = client.post("/kantor/berita", content_type="multipart/form-data", data={
        "csrf": csrf, "title": f"Posyandu balita {tag}", "kind": "announcement",
        "body": "Hari Sabtu di balai desa.", "aksi": "terbit",
        "foto": (io.BytesIO(jpeg()), "foto.jpg")})
    assert posted.status_code == 303, posted.get_data(as_text=True)[:500]
    post_id = posted.headers["Location"].rsplit("=", 1)[1]
    public = api.client.application.test_client()  # nobody logged in
    article = public.get(f"/desa/{VILLAGE}/berita/{post_id}").get_data(as_text=True)
    assert f"Posyandu balita {tag}" in article and "/thumbnail" in article
    listed = public.get(f"/desa/{VILLAGE}/berita").get_data(as_text=True)
    assert f"Salah berkas {tag}" not in listed  # the refused form left no post behind
    # A draft stays off the website until it is published from the list.
    drafted = client.post("/kantor/berita", data={
        "csrf": csrf, "title": f"Draf {tag}", "kind": "news", "body": "Nanti.", "aksi": "draf"})
    draft_id = drafted.headers["Location"].rsplit("=", 1)[1]
    assert public.get(f"/desa/{VILLAGE}/berita/{draft_id}").status_code == 404
    assert client.post(f"/kantor/berita/{draft_id}/terbitkan",
                       data={"csrf": csrf}).status_code == 303
    assert public.get(f"/desa/{VILLAGE}/berita/{draft_id}").status_code == 200


def test_the_treasurer_has_no_news_desk(api, logins):
    logged_in = api.client.post("/masuk", data={
        "cara": "petugas", "username": logins["treasurer"], "password": routes.PASSWORD})
    assert logged_in.status_code == 303, logged_in.get_data(as_text=True)[:500]
    assert api.client.get("/kantor/berita").status_code == 403

"""The village website's own content on the portal (news, articles, gallery, businesses and
tourism, organisations) through the in-process gateway in front of the real potential and
registry services: published only, no owner or NIK, lazy thumbnails, meta and Open Graph tags.
"""
from __future__ import annotations

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

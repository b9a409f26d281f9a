"""Profile, posts, albums and photos against real PostgreSQL and SeaweedFS: only what is
published is public, photos included; Markdown is rendered safely; albums change and go."""
from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from services.common.errors import NotFound, UnsupportedMediaType, ValidationFailed
from services.common.objectstore import document_key
from services.potential.app import businesses, photos, publications, tourism
from tests.integration.potential.conftest import OUTBOX, business_data, jpeg, new_village, staff
from tests.support.photos import SECRETS, phone_photo

pytestmark = pytest.mark.integration


def upload(potential, owner_kind: str, owner_id: str, village: str, data: bytes,
           actor: dict | None = None) -> dict:
    """What the gateway does: ask for a key, put the bytes there, record the photo."""
    actor = actor or staff("officer", village)
    target = potential(photos.target, owner_kind, owner_id, village, actor)
    potential.store.put_bytes(target["key"], data, "application/octet-stream")
    return potential(photos.record, OUTBOX, potential.store, owner_kind, owner_id,
                     {"key": target["key"], "caption": "Foto"}, village, actor)


def public_file(potential, photo_id: str, variant: str = "original") -> dict:
    return potential(photos.file, photo_id, variant, None, False)


def test_a_photo_gets_a_thumbnail_and_is_stored_with_its_hash(potential):
    village = new_village()
    owner = potential.resident(village)
    business = potential(businesses.register, OUTBOX, village, business_data(owner["nik"]),
                         village, staff("officer", village))
    photo = upload(potential, "business", business["id"], village, jpeg((1600, 900)))
    assert photo["url"] == f"/api/v1/photos/{photo['id']}"
    assert photo["thumbnail_url"] == f"/api/v1/photos/{photo['id']}/thumbnail"
    assert (photo["width"], photo["height"]) == (1600, 900)
    thumb = public_file(potential, photo["id"], "thumbnail")
    with Image.open(io.BytesIO(potential.store.get_bytes(thumb["key"]))) as image:
        assert image.format == "JPEG" and max(image.size) == 320
    original = public_file(potential, photo["id"])
    assert original["etag"] != thumb["etag"] and original["public"] is True
    assert potential(businesses.get, business["id"], village)["photos"] == [photo]
    assert "photo.added" in potential.events(village)


def test_a_photo_put_with_its_metadata_is_stored_without_it(potential):
    """The gateway strips metadata before it stores anything; whatever put the bytes, the
    service keeps none either, and the hash recorded (the backup's check) is the stored one."""
    village = new_village()
    site = potential(tourism.create, OUTBOX, village, {
        "name": "Curug Cigumawang", "category": "alam", "development_class": "rintisan"},
        village, staff("officer", village))
    photo = upload(potential, "tourism_site", site["id"], village, phone_photo())
    assert (photo["width"], photo["height"]) == (600, 800)  # as shown: the phone was on its side
    for variant in ("original", "thumbnail"):
        stored = public_file(potential, photo["id"], variant)
        data = potential.store.get_bytes(stored["key"])
        assert [secret for secret in SECRETS if secret in data] == []
        assert hashlib.sha256(data).hexdigest() == stored["etag"]
        with Image.open(io.BytesIO(data)) as image:
            assert dict(image.getexif()) == {} and image.height > image.width


@pytest.mark.parametrize("data", [b"%PDF-1.7 not a photo", b"GIF89a" + b"\0" * 64,
                                  b"\xff\xd8\xff\xe0" + b"broken jpeg" * 10])
def test_what_is_not_an_image_is_415_and_leaves_nothing(potential, data):
    village = new_village()
    actor = staff("officer", village)
    album = potential(publications.create_album, OUTBOX, village, {"title": "Galeri"},
                      village, actor)
    target = potential(photos.target, "album", album["id"], village, actor)
    potential.store.put_bytes(target["key"], data, "image/jpeg")
    with pytest.raises(UnsupportedMediaType) as refused:
        potential(photos.record, OUTBOX, potential.store, "album", album["id"],
                  {"key": target["key"]}, village, actor)
    assert "file" in refused.value.fields
    assert not potential.store.exists(target["key"])
    assert potential.count("photos", village_code=village) == 0


def test_a_key_of_another_village_is_refused(potential):
    village = new_village()
    actor = staff("officer", village)
    album = potential(publications.create_album, OUTBOX, village, {"title": "Galeri"},
                      village, actor)
    foreign = document_key(new_village(), "potential", "photos")
    potential.store.put_bytes(foreign, jpeg(), "image/jpeg")
    with pytest.raises(ValidationFailed):
        potential(photos.record, OUTBOX, potential.store, "album", album["id"],
                  {"key": foreign}, village, actor)


def test_draft_posts_and_their_photos_are_not_public_until_published(potential):
    village = new_village()
    officer = staff("officer", village)
    draft = potential(publications.create_post, OUTBOX, village, {
        "title": "Kerja bakti", "body": "Minggu pagi **kerja bakti**.",
        "body_format": "markdown"}, village, officer)
    photo = upload(potential, "post", draft["id"], village, jpeg())
    assert potential(publications.list_public_posts, village, {})["total"] == 0
    for variant in ("original", "thumbnail"):
        with pytest.raises(NotFound):  # the public cannot fetch a draft's photo by its id
            public_file(potential, photo["id"], variant)
        with pytest.raises(NotFound):  # nor can another village's staff
            potential(photos.file, photo["id"], variant, new_village(), True)
        staff_view = potential(photos.file, photo["id"], variant, village, True)
        assert staff_view["public"] is False
    assert potential(photos.file, photo["id"], "original", None, True)["public"] is False

    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    potential(publications.change_post, OUTBOX, draft["id"],
              {"status": "published", "published_at": later}, village, officer)
    with pytest.raises(NotFound):  # scheduled: still not public
        public_file(potential, photo["id"])
    published = potential(publications.change_post, OUTBOX, draft["id"],
                          {"published_at": datetime.now(UTC).isoformat()}, village, officer)
    assert public_file(potential, photo["id"])["public"] is True
    listed = potential(publications.list_public_posts, village, {})
    assert [p["id"] for p in listed["items"]] == [draft["id"]]
    assert listed["items"][0]["photos"][0]["id"] == photo["id"]
    assert "<strong>kerja bakti</strong>" in published["body_html"]
    assert potential.events(village)[-2:] == ["post.published", "post.updated"]

    potential(publications.change_post, OUTBOX, draft["id"], {"status": "draft"}, village,
              officer)
    with pytest.raises(NotFound):
        public_file(potential, photo["id"])


def test_markdown_and_plain_text_are_rendered_without_any_markup_of_the_author(potential):
    village = new_village()
    officer = staff("head", village)
    post = potential(publications.create_post, OUTBOX, village, {
        "title": "Pengumuman", "status": "published", "body_format": "markdown",
        "body": "Halo <script>alert(1)</script>\n\n[klik](javascript:alert(1)) "
                "<img src=x onerror=alert(1)>\n\n[situs](https://serangkab.go.id)"},
        village, officer)
    html = post["body_html"]
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://serangkab.go.id">situs</a>' in html
    plain = potential(publications.create_post, OUTBOX, village, {
        "title": "Info", "body": "Baris <b>satu</b>\nbaris dua\n\nParagraf"}, village, officer)
    assert plain["body_html"] == ("<p>Baris &lt;b&gt;satu&lt;/b&gt;<br>baris dua</p>\n"
                                  "<p>Paragraf</p>\n")
    assert plain["status"] == "draft" and plain["published_at"] is None


def test_albums_are_updated_published_and_removed_with_their_photos(potential):
    village = new_village()
    officer = staff("officer", village)
    album = potential(publications.create_album, OUTBOX, village,
                      {"title": "HUT RI", "description": "Lomba"}, village, officer)
    photo = upload(potential, "album", album["id"], village, jpeg())
    with pytest.raises(NotFound):
        public_file(potential, photo["id"])
    assert potential(publications.list_albums, village, {}, None, public=True)["total"] == 0
    changed = potential(publications.change_album, OUTBOX, album["id"],
                        {"title": "HUT RI ke-81", "status": "published"}, village, officer)
    assert changed["title"] == "HUT RI ke-81" and changed["photos"][0]["id"] == photo["id"]
    assert public_file(potential, photo["id"])["public"] is True
    public = potential(publications.list_albums, village, {}, None, public=True)
    assert [a["title"] for a in public["items"]] == ["HUT RI ke-81"]
    with pytest.raises(NotFound):
        potential(publications.change_album, OUTBOX, album["id"], {"title": "X"},
                  new_village(), staff("officer", "36.04.11.9998"))

    keys = potential(publications.remove_album, OUTBOX, album["id"], village, officer)
    photos.delete_objects(potential.store, keys)
    assert len(keys) == 2 and not any(potential.store.exists(k) for k in keys)
    assert potential.count("photos", village_code=village) == 0
    with pytest.raises(NotFound):
        potential(publications.get_album, album["id"], village)
    with pytest.raises(NotFound):
        public_file(potential, photo["id"])
    assert potential.events(village)[-2:] == ["photo.removed", "album.removed"]


def test_the_profile_names_officials_with_their_photos(potential):
    village = new_village()
    head = staff("head", village)
    photo = upload(potential, "profile", village, village, jpeg(), head)
    profile = potential(publications.change_profile, OUTBOX, village, {
        "history": "Berdiri 1901.", "vision": "Desa maju", "area_hectares": 512.75,
        "boundaries": {"north": "Laut Jawa", "south": "Desa Pulo"},
        "officials": [{"name": "H. Contoh", "position": "Kepala Desa",
                       "photo_id": photo["id"]}]}, village, head)
    assert profile["officials"][0]["photo_url"] == photo["url"]
    assert profile["area_hectares"] == 512.75
    assert profile["boundaries"]["north"] == "Laut Jawa"
    assert potential(publications.get_profile, village, public=True) == profile
    with pytest.raises(ValidationFailed):
        potential(publications.change_profile, OUTBOX, village, {
            "officials": [{"name": "X", "position": "Y", "photo_id": "nope"}]}, village, head)
    with pytest.raises(NotFound):
        potential(publications.get_profile, new_village(), public=True)
    assert public_file(potential, photo["id"])["public"] is True

"""Potential data for the drill: read models fed from the registry's state (as its events would),
the village profile with an official's photo, a business, an organisation, a tourism site and a
resource (so the public catalogue has rows), a published post and album, photos of each in the
documents bucket (with their thumbnails), and a follow-up opened by a move out and resolved."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import Session

from services.common import clock
from services.common.outbox import Outbox
from services.potential.app import (
    businesses,
    followups,
    organisations,
    photos,
    publications,
    resources,
    tourism,
)
from services.registry import events as registry_events
from services.registry.models import Resident, Village

OUTBOX = Outbox("potential")
COLOURS = ["teal", "orange", "navy", "olive", "maroon", "purple"]


def jpeg(round_: int, shade: int) -> bytes:
    """A small real JPEG (potential checks the bytes are an image), different per round."""
    out = io.BytesIO()
    Image.new("RGB", (64 + 8 * round_, 48 + shade), COLOURS[(round_ + shade) % len(COLOURS)]
              ).save(out, "JPEG")
    return out.getvalue()


def staff(village: str) -> dict:
    return {"role": "officer", "village_code": village, "username": "dr.potential"}


def _feed_read_models(world, village: str) -> list[dict]:
    with Session(world.engine("registry")) as registry:
        state = registry_events.village_state(registry.get(Village, village))
        people = [registry_events.resident_state(r) for r in registry.scalars(
            sa.select(Resident).where(Resident.village_code == village)
            .order_by(Resident.nik))]
    world.do("potential", followups.apply_village, state)
    for person in people:
        world.do("potential", followups.apply_resident, person)
    return people


def _photo(world, village: str, owner_kind: str, owner_id: str, data: bytes,
           caption: str) -> dict:
    officer = staff(village)
    target = world.do("potential", photos.target, owner_kind, owner_id, village, officer)
    world.documents.put_bytes(target["key"], data, "image/jpeg")
    return world.do("potential", photos.record, OUTBOX, world.documents, owner_kind, owner_id,
                    {"key": target["key"], "caption": caption}, village, officer)


def build(world, village: str, round_: int) -> None:
    people = _feed_read_models(world, village)
    officer = staff(village)
    owner = world.notes["residents"][village][round_ - 1]
    moved = [p for p in people if p.get("status") == "moved_out"]

    portrait = _photo(world, village, "profile", village, jpeg(round_, 0), "Kepala desa")
    world.do("potential", publications.change_profile, OUTBOX, village, {
        "history": f"Desa tua di tepi sungai (putaran {round_}).", "vision": "Desa mandiri",
        "mission": "Melayani warga", "area_hectares": 512.5 + round_,
        "boundaries": {"north": "Laut Jawa", "south": "Desa Sukamaju", "east": "Sungai",
                       "west": "Desa Mekar"},
        "officials": [{"name": "Ahmad Fauzi", "position": "Kepala Desa",
                       "photo_id": portrait["id"]}],
        "latitude": -6.12, "longitude": 106.25}, village, officer)

    business = world.do("potential", businesses.register, OUTBOX, village, {
        "owner_nik": owner, "name": f"Keripik Emping {round_}", "nib": "1234567890123",
        "kbli": "10794", "sector": "kuliner", "description": "Emping melinjo renyah",
        "products": [{"name": "Emping melinjo", "price": 25000 + round_}], "workers": 3,
        "capital": 50_000_000, "yearly_sales": 300_000_000,
        "address": {"dusun": "Krajan", "rw": "2", "rt": "1"}, "latitude": -6.121,
        "longitude": 106.251, "certifications": ["halal", "pirt"], "status": "active"},
        village, officer)
    world.do("potential", businesses.change, OUTBOX, business["id"], {"workers": 4 + round_},
             village, officer)
    _photo(world, village, "business", business["id"], jpeg(round_, 1), "Produk")

    officers = [{"nik": owner, "position": "Ketua"}]
    officers += [{"nik": p["nik"], "position": "Sekretaris"} for p in moved[:1]]
    organisation = world.do("potential", organisations.create, OUTBOX, village, {
        "type": "Karang Taruna", "name": f"Karang Taruna Tunas {round_}",
        "decree_number": f"141/{round_}/2025", "decree_date": "2025-01-10", "chair_nik": owner,
        "officers": officers, "members_male": 20, "members_female": 15 + round_},
        village, officer)

    site = world.do("potential", tourism.create, OUTBOX, village, {
        "name": f"Curug Cigumawang {round_}", "category": "alam",
        "development_class": "rintisan", "description": "Air terjun di kaki bukit",
        "latitude": -6.13, "longitude": 106.26, "facilities": ["toilet", "mushola"],
        "opening_hours": "08.00-17.00", "ticket_price": 10000, "managed_by": "Pokdarwis"},
        village, officer)
    _photo(world, village, "tourism_site", site["id"], jpeg(round_, 2), "Curug")

    world.do("potential", resources.create, OUTBOX, village, {
        "kind": "commodity", "name": f"Padi sawah musim {round_}", "quantity": 1250.5,
        "unit": "ton", "year": clock.local_today().year - 1}, village, officer)

    post = world.do("potential", publications.create_post, OUTBOX, village, {
        "title": f"Kerja bakti {round_}", "body": "Minggu pagi **kerja bakti**.",
        "body_format": "markdown", "status": "published"}, village, officer)
    _photo(world, village, "post", post["id"], jpeg(round_, 3), "Kerja bakti")

    album = world.do("potential", publications.create_album, OUTBOX, village, {
        "title": f"Galeri {round_}", "description": "Kegiatan desa"}, village, officer)
    world.do("potential", publications.change_album, OUTBOX, album["id"],
             {"status": "published"}, village, officer)
    _photo(world, village, "album", album["id"], jpeg(round_, 4), "Galeri")

    # The officer who moved out (as registry's resident.moved_out would say): a follow-up on
    # the organisation, resolved; the business owner's death would open one the same way.
    for person in moved[:1]:
        world.do("potential", followups.apply_life_event, OUTBOX, person)
    opened = world.do("potential", followups.list_village, village, {"status": "open"}, village)
    for item in opened["items"]:
        if item["subject_id"] == organisation["id"]:
            world.do("potential", followups.resolve, OUTBOX, item["id"],
                     {"resolution": "Diganti pengurus baru"}, village, officer)

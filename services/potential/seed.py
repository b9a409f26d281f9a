"""Demo potential for the demo village: businesses with photos, organisations, a tourism site,
resources, the profile, a published news post and an album.

Everything goes through the potential service's own RPC, as the gateway calls it (photos put
in the documents bucket at the key the service names, without metadata, then recorded), so
the outbox events, the catalogue and the backup see demo data as they see real data. Running it
again adds only what is missing (matched by name or title). Owners and officers are residents
of the registry's demo village; potential learns them from registry's events, so a business is
retried until its owner has reached potential's read model.
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw

from services.common.errors import DesaError
from services.common.objectstore import ObjectStoreClient
from services.potential import images

# A village office's location: the reference point for the "far from village" flag.
VILLAGE_POINT = (-6.0655, 106.1120)

PROFILE = {
    "history": "Desa contoh untuk demonstrasi Desa Digital. Berdiri sebagai pemekaran desa "
               "induk pada tahun 1982; namanya diambil dari mata air di kaki bukit.",
    "vision": "Desa yang mandiri, sejahtera dan terbuka dalam pelayanan.",
    "mission": "1. Pelayanan administrasi yang cepat dan daring.\n"
               "2. Mengembangkan UMKM dan wisata desa.\n"
               "3. Menjaga sumber air dan lahan pertanian.",
    "area_hectares": 412.5,
    "boundaries": {"north": "Laut Jawa", "south": "Desa Contoh Selatan",
                   "east": "Desa Contoh Timur", "west": "Sungai Cidurian"},
    "latitude": VILLAGE_POINT[0], "longitude": VILLAGE_POINT[1],
}

BUSINESSES = (
    {"name": "Emping Melinjo Contoh", "sector": "kuliner", "kbli": "10794",
     "description": "Emping melinjo tipis buatan tangan, digoreng atau mentah.",
     "products": [{"name": "Emping mentah 1 kg", "price": 85000},
                  {"name": "Emping goreng 250 g", "price": 30000}],
     "workers": 4, "capital": 40_000_000, "yearly_sales": 260_000_000,
     "certifications": ["pirt", "halal"], "latitude": -6.0671, "longitude": 106.1102,
     "colour": (196, 150, 72)},
    {"name": "Batik Cap Contoh", "sector": "fashion", "kbli": "13134",
     "description": "Batik cap motif khas Banten: sura, datulaya dan kawung.",
     "products": [{"name": "Kain batik cap 2 m", "price": 175000}],
     "workers": 7, "capital": 1_200_000_000, "yearly_sales": 900_000_000,
     "certifications": [], "latitude": -6.0633, "longitude": 106.1151,
     "colour": (52, 84, 160)},
    {"name": "Anyaman Bambu Contoh", "sector": "kriya",
     "description": "Anyaman bambu untuk bakul, tampah dan hiasan dinding.",
     "products": [{"name": "Tampah", "price": 25000}, {"name": "Bakul", "price": 20000}],
     "workers": 3, "capital": 15_000_000, "yearly_sales": 60_000_000,
     "certifications": [], "latitude": -6.0702, "longitude": 106.1088,
     "colour": (120, 160, 60)},
    {"name": "Bengkel Motor Contoh", "sector": "jasa",
     "description": "Servis dan suku cadang sepeda motor.",
     "products": [{"name": "Servis ringan", "price": 50000}],
     "workers": 2, "capital": 80_000_000, "yearly_sales": 150_000_000,
     "certifications": [], "latitude": -6.0640, "longitude": 106.1175,
     "colour": (90, 90, 96)},
)

ORGANISATIONS = (
    {"type": "BUMDes", "name": "BUMDes Contoh Sejahtera", "decree_number": "01/2019",
     "decree_date": "2019-03-11", "members_male": 3, "members_female": 2},
    {"type": "Pokdarwis", "name": "Pokdarwis Curug Contoh", "decree_number": "07/2021",
     "decree_date": "2021-08-02", "members_male": 9, "members_female": 6},
    {"type": "PKK", "name": "Tim Penggerak PKK Desa Contoh", "decree_number": "03/2022",
     "decree_date": "2022-01-17", "members_male": 0, "members_female": 24},
)

TOURISM_SITE = {
    "name": "Curug Contoh", "category": "alam", "development_class": "berkembang",
    "description": "Air terjun setinggi 12 meter di tengah hutan bambu, dengan kolam alami "
                   "untuk berenang dan jalur trekking 1,5 km dari balai desa.",
    "latitude": -6.0790, "longitude": 106.1010,
    "facilities": ["parkir", "toilet", "mushola", "warung", "gazebo"],
    "opening_hours": "Setiap hari 07.00-17.00 WIB", "ticket_price": 10000,
    "managed_by": "Pokdarwis Curug Contoh", "colour": (40, 130, 150),
}

RESOURCES = (
    {"kind": "land_use", "name": "Sawah irigasi teknis", "quantity": 182.0, "unit": "ha"},
    {"kind": "land_use", "name": "Perkebunan melinjo", "quantity": 36.5, "unit": "ha"},
    {"kind": "commodity", "name": "Padi sawah", "quantity": 1150.0, "unit": "ton"},
    {"kind": "livestock", "name": "Kambing", "quantity": 640.0, "unit": "ekor"},
    {"kind": "water_source", "name": "Mata air Cikahuripan", "quantity": 2.0, "unit": "unit"},
    {"kind": "facility", "name": "Posyandu", "quantity": 4.0, "unit": "unit"},
)

POST = {
    "kind": "news", "title": "Pelatihan pemasaran daring untuk UMKM desa",
    "body": "Sebanyak **24 pelaku UMKM** mengikuti pelatihan pemasaran daring di balai desa.\n\n"
            "Materi: foto produk dengan ponsel, katalog di situs desa, dan pembayaran QRIS.",
    "body_format": "markdown", "status": "published",
}

ALBUM = {"title": "Festival Curug Contoh", "status": "published",
         "description": "Foto-foto festival tahunan di Curug Contoh."}
ALBUM_PHOTOS = (("Pembukaan festival", (200, 90, 60)), ("Lomba perahu", (50, 120, 190)),
                ("Bazar UMKM", (170, 140, 40)))

Rpc = Callable[..., Any]  # rpc(method, *args, key=idempotency key or None)


def picture(title: str, colour: tuple[int, int, int], size: tuple[int, int] = (960, 640)) -> bytes:
    """A demo photo drawn with Pillow: a sky-to-colour gradient, a hill, a sun and a caption."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(220 * (1 - t) + c * t) for c in colour))
    draw.ellipse([width * 0.72, height * 0.1, width * 0.86, height * 0.31], fill=(250, 220, 90))
    draw.polygon([(0, height), (width * 0.35, height * 0.55), (width * 0.7, height * 0.8),
                  (width, height * 0.6), (width, height)], fill=tuple(c // 2 for c in colour))
    draw.rectangle([0, height - 70, width, height], fill=(0, 0, 0))
    draw.text((24, height - 52), title, fill=(255, 255, 255), font_size=32)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class DemoSeeder:
    """Adds the demo potential of one village through `rpc`; photo bytes go to `store`."""

    def __init__(self, rpc: Rpc, store: ObjectStoreClient, village_code: str,
                 owner_wait_seconds: float = 120.0):
        self.rpc = rpc
        self.store = store
        self.village = village_code
        self.actor = {"role": "officer", "village_code": village_code,
                      "username": "demo.seed", "nik": None}
        self.owner_wait_seconds = owner_wait_seconds
        self.added: dict[str, int] = {}

    def _key(self, *parts: object) -> str:
        return ":".join(["demo-potential", self.village, *map(str, parts)])

    def _count(self, what: str) -> None:
        self.added[what] = self.added.get(what, 0) + 1

    def _existing(self, method: str, field: str, *, personal: bool = False) -> dict[str, dict]:
        # Lists naming residents take the reader (decision 0034); the seed's own bookkeeping
        # is no person reading anyone's data, so it passes none and is not logged.
        reader = (None,) if personal else ()
        listed = self.rpc(method, self.village, {"per_page": 100}, self.village, *reader)
        return {item[field]: item for item in listed["items"]}

    def _photo(self, owner_kind: str, owner_id: str, caption: str,
               colour: tuple[int, int, int]) -> dict:
        """What the gateway does with an upload: a key from the service, the bytes there
        (without metadata), the photo recorded."""
        target = self.rpc("photo_target", owner_kind, owner_id, self.village, self.actor)
        photo = images.prepare(picture(caption, colour), with_thumbnail=False)
        self.store.put_bytes(target["key"], photo.data, photo.content_type)
        recorded = self.rpc("record_photo", owner_kind, owner_id,
                            {"key": target["key"], "caption": caption}, self.village,
                            self.actor, key=self._key("photo", owner_kind, owner_id, caption))
        self._count("photos")
        return recorded

    def _create(self, method: str, data: dict, what: str, name: str) -> dict:
        created = self.rpc(method, self.village, data, self.village, self.actor,
                           key=self._key(what, name))
        self._count(what)
        return created

    def profile(self) -> None:
        profile = self.rpc("get_profile", self.village, self.village)
        if not profile.get("history"):
            self.rpc("change_profile", self.village, PROFILE, self.village, self.actor,
                     key=self._key("profile"))
            self._count("profile")
        if not profile.get("photos"):
            self._photo("profile", self.village, "Balai desa", (150, 110, 80))

    def businesses(self, owners: list[str]) -> None:
        existing = self._existing("list_businesses", "name", personal=True)
        for index, spec in enumerate(BUSINESSES):
            business = existing.get(spec["name"])
            if business is None:
                data = {k: v for k, v in spec.items() if k != "colour"}
                data.update(owner_nik=owners[index % len(owners)], status="active",
                            address={"dusun": f"Dusun {'I' * (1 + index % 3)}"})
                business = self._until_owner_known(
                    lambda data=data: self._create("register_business", data, "businesses",
                                                   data["name"]))
            if not business.get("photos"):
                self._photo("business", business["id"], spec["name"], spec["colour"])

    def _until_owner_known(self, register: Callable[[], dict]) -> dict:
        """Register; while the owner has not reached potential's read model yet (registry's
        events are on their way through the relay), wait and try again."""
        give_up = time.monotonic() + self.owner_wait_seconds
        while True:
            try:
                return register()
            except DesaError as refused:
                if "owner_nik" not in (refused.fields or {}) or time.monotonic() > give_up:
                    raise
                time.sleep(1.0)

    def organisations(self, chair: str, officers: list[str]) -> None:
        existing = self._existing("list_organisations", "name", personal=True)
        for spec in ORGANISATIONS:
            if spec["name"] not in existing:
                data = {**spec, "chair_nik": chair,
                        "officers": [{"nik": nik, "position": position} for nik, position in
                                     zip(officers, ("Sekretaris", "Bendahara"), strict=False)]}
                self._create("create_organisation", data, "organisations", spec["name"])

    def tourism(self) -> None:
        site = self._existing("list_tourism_sites", "name").get(TOURISM_SITE["name"])
        if site is None:
            data = {k: v for k, v in TOURISM_SITE.items() if k != "colour"}
            site = self._create("create_tourism_site", data, "tourism_sites", data["name"])
        if not site.get("photos"):
            self._photo("tourism_site", site["id"], TOURISM_SITE["name"],
                        TOURISM_SITE["colour"])

    def resources(self, year: int) -> None:
        listed = self.rpc("list_resources", self.village, {"per_page": 100, "year": year},
                          self.village)["items"]
        known = {(item["kind"], item["name"]) for item in listed}
        for spec in RESOURCES:
            if (spec["kind"], spec["name"]) not in known:
                self._create("create_resource", {**spec, "year": year}, "resources",
                             f"{spec['name']}:{year}")

    def publications(self) -> None:
        post = self._existing("list_posts", "title").get(POST["title"])
        if post is None:
            post = self._create("create_post", POST, "posts", POST["title"])
        if not post.get("photos"):
            self._photo("post", post["id"], "Pelatihan UMKM", (120, 80, 150))
        album = self._existing("list_albums", "title").get(ALBUM["title"])
        if album is None:
            album = self._create("create_album", ALBUM, "albums", ALBUM["title"])
        have = {photo.get("caption") for photo in album.get("photos") or []}
        for caption, colour in ALBUM_PHOTOS:
            if caption not in have:
                self._photo("album", album["id"], caption, colour)

    def run(self, owners: list[str], officers: list[str], year: int) -> dict[str, int]:
        """Everything; returns what was added (empty when all was there already). Businesses
        first: they wait until registry's events (the village, then its residents) have
        reached potential, which the profile needs too."""
        self.businesses(owners)
        self.profile()
        self.organisations(owners[0], officers)
        self.tourism()
        self.resources(year)
        self.publications()
        return self.added

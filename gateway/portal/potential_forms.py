"""The office's potential forms, described once: which fields each kind of entry has, how a
posted form becomes the potential API's body, how an entry becomes the form again, and how the
service's field errors land next to the inputs.

One template (`office/potential_form.html`) renders every kind from these descriptions, so a
business, a tourism site, an organisation, a resource, an album and the village profile share
the same form code. Field names are the API's, nested ones dotted (`address.rt`,
`products.0.price`), which is also how the service's errors name them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from services.potential import domain

UNITS = tuple(dict.fromkeys(unit for units in domain.RESOURCE_UNITS.values() for unit in units))


@dataclass(frozen=True)
class Field:
    """One input. `kind`: text, textarea, integer, decimal, date, select, checks (several of a
    list), lines (a list of short texts, one a line) or rows (a list of records, `parts`)."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    hint: str | None = None
    parts: tuple[Field, ...] = ()
    max_length: int | None = None
    # Rows the form offers beyond those an entry has (no script adds rows).
    spare_rows: int = 2
    # What a blank optional input sends (None clears the value; a count left blank is 0).
    blank: object = None


@dataclass(frozen=True)
class Kind:
    """A kind of entry the office keeps: its address, names, fields and service calls."""

    slug: str
    title: str
    one: str
    fields: tuple[Field, ...]
    create: str
    change: str
    list: str
    get: str | None = None
    remove: str | None = None
    photo_owner: str | None = None
    # Its entries name residents by NIK (owners, officers): `get` and `list` take the reader,
    # and every read is in the audit log (decision 0034).
    personal: bool = False
    filters: tuple[Field, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    defaults: dict = field(default_factory=dict)


def _options(values, names: dict | None = None) -> tuple[tuple[str, str], ...]:
    names = names or {}
    return tuple((value, names.get(value, value.replace("_", " ").capitalize()))
                 for value in values)


SECTOR_NAMES = {"kuliner": "Kuliner", "fashion": "Fesyen", "kriya": "Kerajinan",
                "pertanian": "Pertanian", "peternakan": "Peternakan", "perikanan": "Perikanan",
                "perdagangan": "Perdagangan", "jasa": "Jasa", "industri": "Industri",
                "pariwisata": "Pariwisata", "lainnya": "Lainnya"}
SIZE_NAMES = {"micro": "Mikro", "small": "Kecil", "medium": "Menengah", "large": "Besar"}
BUSINESS_STATUS_NAMES = {"active": "Aktif", "inactive": "Tidak aktif", "closed": "Tutup"}
CERTIFICATION_NAMES = {"halal": "Halal", "pirt": "P-IRT", "bpom": "BPOM", "sni": "SNI",
                       "haki": "HAKI", "organic": "Organik"}
CATEGORY_NAMES = {"alam": "Alam", "budaya": "Budaya", "religi": "Religi", "buatan": "Buatan",
                  "kuliner": "Kuliner", "edukasi": "Edukasi", "lainnya": "Lainnya"}
RESOURCE_NAMES = {"land_use": "Penggunaan lahan", "commodity": "Komoditas",
                  "livestock": "Ternak", "water_source": "Sumber air",
                  "facility": "Sarana dan prasarana"}
PUBLICATION_NAMES = {"draft": "Draf", "published": "Terbit"}
ORGANISATION_NAMES = {"other": "Lainnya", "koperasi": "Koperasi"}

NIK_HINT = "16 angka; warga desa ini yang masih hidup."
MONEY_HINT = "Rupiah, angka saja (titik ribuan boleh)."
POINT = (Field("latitude", "Lintang (latitude)", "decimal", hint="Contoh: -6,1234"),
         Field("longitude", "Bujur (longitude)", "decimal", hint="Contoh: 106,2345"))

BUSINESSES = Kind(
    slug="usaha", title="UMKM", one="usaha", photo_owner="business",
    create="register_business", change="change_business", get="get_business",
    list="list_businesses", personal=True,
    fields=(
        Field("name", "Nama usaha", required=True, max_length=200),
        Field("owner_nik", "NIK pemilik", required=True, hint=NIK_HINT, max_length=16),
        Field("sector", "Sektor", "select", required=True,
              options=_options(domain.SECTORS, SECTOR_NAMES)),
        Field("description", "Deskripsi", "textarea", max_length=2000),
        Field("products", "Produk", "rows", parts=(
            Field("name", "Nama produk", max_length=200),
            Field("price", "Harga (Rp)", "integer"))),
        Field("workers", "Jumlah pekerja", "integer", blank=0),
        Field("capital", "Modal usaha (Rp)", "integer", hint=MONEY_HINT),
        Field("yearly_sales", "Omzet per tahun (Rp)", "integer",
              hint=MONEY_HINT + " Kelas usaha (mikro, kecil, menengah) dihitung dari modal "
                   "dan omzet."),
        Field("nib", "NIB", hint="Nomor Induk Berusaha, 13 angka.", max_length=13),
        Field("kbli", "KBLI", hint="Kode 5 angka.", max_length=5),
        Field("address.dusun", "Dusun", max_length=100),
        Field("address.rw", "RW", max_length=3),
        Field("address.rt", "RT", max_length=3),
        *POINT,
        Field("certifications", "Sertifikat", "checks",
              options=_options(domain.CERTIFICATIONS, CERTIFICATION_NAMES)),
        Field("status", "Status", "select", required=True,
              options=_options(domain.BUSINESS_STATUSES, BUSINESS_STATUS_NAMES)),
    ),
    filters=(
        Field("q", "Nama mengandung"),
        Field("sector", "Sektor", "select", options=_options(domain.SECTORS, SECTOR_NAMES)),
        Field("size_class", "Kelas usaha", "select",
              options=_options(domain.SIZE_CLASSES, SIZE_NAMES)),
        Field("status", "Status", "select",
              options=_options(domain.BUSINESS_STATUSES, BUSINESS_STATUS_NAMES)),
        Field("dusun", "Dusun"),
    ),
    columns=(("name", "Nama"), ("sector", "Sektor"), ("size_class", "Kelas"),
             ("owner_name", "Pemilik"), ("status", "Status")),
    defaults={"status": "active", "workers": "0"},
)

TOURISM = Kind(
    slug="wisata", title="Tempat wisata", one="tempat wisata", photo_owner="tourism_site",
    create="create_tourism_site", change="change_tourism_site", get="get_tourism_site",
    list="list_tourism_sites",
    fields=(
        Field("name", "Nama tempat", required=True, max_length=200),
        Field("category", "Kategori", "select", required=True,
              options=_options(domain.TOURISM_CATEGORIES, CATEGORY_NAMES)),
        Field("development_class", "Kelas desa wisata", "select", required=True,
              options=_options(domain.DEVELOPMENT_CLASSES)),
        Field("description", "Deskripsi", "textarea", max_length=5000),
        Field("facilities", "Fasilitas", "lines", hint="Satu fasilitas per baris."),
        Field("opening_hours", "Jam buka", max_length=200),
        Field("ticket_price", "Harga tiket (Rp)", "integer", hint="Kosongkan bila gratis."),
        Field("managed_by", "Pengelola", max_length=200),
        *POINT,
    ),
    filters=(
        Field("category", "Kategori", "select",
              options=_options(domain.TOURISM_CATEGORIES, CATEGORY_NAMES)),
        Field("development_class", "Kelas", "select",
              options=_options(domain.DEVELOPMENT_CLASSES)),
    ),
    columns=(("name", "Nama"), ("category", "Kategori"), ("development_class", "Kelas")),
)

ORGANISATIONS = Kind(
    slug="lembaga", title="Lembaga", one="lembaga",
    create="create_organisation", change="change_organisation", get="get_organisation",
    list="list_organisations", personal=True,
    fields=(
        Field("type", "Jenis lembaga", "select", required=True,
              options=_options(domain.ORGANISATION_TYPES, ORGANISATION_NAMES)),
        Field("name", "Nama lembaga", required=True, max_length=200),
        Field("decree_number", "Nomor SK", max_length=100),
        Field("decree_date", "Tanggal SK", "date"),
        Field("chair_nik", "NIK ketua", hint=NIK_HINT, max_length=16),
        Field("officers", "Pengurus", "rows", spare_rows=3, parts=(
            Field("nik", "NIK pengurus", max_length=16),
            Field("position", "Jabatan", max_length=100))),
        Field("members_male", "Anggota laki-laki", "integer", blank=0),
        Field("members_female", "Anggota perempuan", "integer", blank=0),
    ),
    filters=(Field("type", "Jenis", "select",
                   options=_options(domain.ORGANISATION_TYPES, ORGANISATION_NAMES)),),
    columns=(("name", "Nama"), ("type", "Jenis"), ("chair_name", "Ketua")),
    defaults={"members_male": "0", "members_female": "0"},
)

RESOURCES = Kind(
    slug="sumber-daya", title="Sumber daya", one="sumber daya",
    create="create_resource", change="change_resource", get="get_resource",
    list="list_resources", remove="remove_resource",
    fields=(
        Field("kind", "Jenis", "select", required=True,
              options=_options(domain.RESOURCE_KINDS, RESOURCE_NAMES)),
        Field("name", "Nama", required=True, max_length=200,
              hint="Contoh: Sawah irigasi, Padi, Sapi, Mata air, Posyandu."),
        Field("quantity", "Jumlah", "decimal", required=True),
        Field("unit", "Satuan", "select", required=True, options=_options(UNITS, {
            unit: unit for unit in UNITS}),
              hint="; ".join(f"{RESOURCE_NAMES[kind]}: {', '.join(units)}"
                             for kind, units in domain.RESOURCE_UNITS.items())),
        Field("year", "Tahun data", "integer", required=True),
    ),
    filters=(Field("kind", "Jenis", "select",
                   options=_options(domain.RESOURCE_KINDS, RESOURCE_NAMES)),
             Field("year", "Tahun", "integer")),
    columns=(("kind", "Jenis"), ("name", "Nama"), ("quantity", "Jumlah"), ("unit", "Satuan"),
             ("year", "Tahun")),
)

ALBUMS = Kind(
    slug="galeri", title="Galeri", one="album", photo_owner="album",
    create="create_album", change="change_album", get="get_album", list="list_albums",
    remove="remove_album",
    fields=(
        Field("title", "Judul album", required=True, max_length=200),
        Field("description", "Keterangan", "textarea", max_length=2000),
        Field("status", "Status", "select", required=True,
              options=_options(domain.PUBLICATION_STATUSES, PUBLICATION_NAMES),
              hint="Album draf tidak tampil di situs desa."),
    ),
    filters=(Field("status", "Status", "select",
                   options=_options(domain.PUBLICATION_STATUSES, PUBLICATION_NAMES)),),
    columns=(("title", "Judul"), ("status", "Status")),
    defaults={"status": "published"},
)

PROFILE_FIELDS = (
    Field("history", "Sejarah desa", "textarea", max_length=20000),
    Field("vision", "Visi", "textarea", max_length=5000),
    Field("mission", "Misi", "textarea", max_length=10000),
    Field("area_hectares", "Luas wilayah (ha)", "decimal"),
    Field("boundaries.north", "Batas utara", max_length=200),
    Field("boundaries.south", "Batas selatan", max_length=200),
    Field("boundaries.east", "Batas timur", max_length=200),
    Field("boundaries.west", "Batas barat", max_length=200),
    Field("officials", "Aparat desa", "rows", spare_rows=3, parts=(
        Field("name", "Nama", max_length=200),
        Field("position", "Jabatan", max_length=100),
        Field("photo_id", "Foto", "select"))),
    *POINT,
)

KINDS = {kind.slug: kind for kind in (BUSINESSES, TOURISM, ORGANISATIONS, RESOURCES, ALBUMS)}

_WHOLE = re.compile(r"-?\d+")
PHOTO_ID = re.compile(r"/photos/([^/]+)")


# -- form -> API body -----------------------------------------------------------------------

def _value(spec: Field, raw: str, blank):
    text = raw.strip()
    if not text:
        return blank
    if spec.kind == "integer":
        digits = text.replace(".", "").replace(" ", "")
        return int(digits) if _WHOLE.fullmatch(digits) else text  # the API names the error
    if spec.kind == "decimal":
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return text
    return text


def _put(body: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        body = body.setdefault(name, {})
    body[last] = value


def _rows(spec: Field, form) -> list[dict]:
    prefix = f"{spec.name}."
    indices = sorted({int(key.split(".")[1]) for key in form
                      if key.startswith(prefix) and key.split(".")[1].isdigit()})
    rows = []
    for index in indices:
        row = {part.name: _value(part, form.get(f"{prefix}{index}.{part.name}", ""), None)
               for part in spec.parts}
        if any(value is not None for value in row.values()):
            rows.append(row)
    return rows


def body_of(fields: tuple[Field, ...], form) -> dict:
    """The API body of a posted form (a werkzeug MultiDict): blank optional fields are None
    (cleared), blank required ones stay blank so that the service names them."""
    body: dict = {}
    for spec in fields:
        if spec.kind == "checks":
            value = form.getlist(spec.name)
        elif spec.kind == "lines":
            value = [line.strip() for line in form.get(spec.name, "").splitlines()
                     if line.strip()]
        elif spec.kind == "rows":
            value = _rows(spec, form)
        else:
            blank = spec.blank
            if spec.required and spec.kind in ("text", "textarea", "select"):
                blank = ""  # sent blank, so that the service names the missing field
            value = _value(spec, form.get(spec.name, ""), blank)
        _put(body, spec.name, value)
    return body


# -- API entry -> form ----------------------------------------------------------------------

def _get(entry: dict, dotted: str):
    for name in dotted.split("."):
        entry = (entry or {}).get(name)
    return entry


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_of(fields: tuple[Field, ...], entry: dict) -> dict:
    """An entry (as the API answers it) as the form's values, keyed by the inputs' names."""
    form: dict = {}
    for spec in fields:
        value = _get(entry, spec.name)
        if spec.kind == "checks":
            form[spec.name] = list(value or [])
        elif spec.kind == "lines":
            form[spec.name] = "\n".join(value or [])
        elif spec.kind == "rows":
            for index, row in enumerate(value or []):
                for part in spec.parts:
                    found = row.get(part.name)
                    if part.name == "photo_id" and found is None and row.get("photo_url"):
                        match = PHOTO_ID.search(row["photo_url"])
                        found = match[1] if match else None
                    form[f"{spec.name}.{index}.{part.name}"] = _text(found)
        else:
            form[spec.name] = _text(value)
    return form


def posted(fields: tuple[Field, ...], form) -> dict:
    """What the user typed, to show it again: lists of checked boxes kept as lists."""
    state = form.to_dict()
    for spec in fields:
        if spec.kind == "checks":
            state[spec.name] = form.getlist(spec.name)
    return state


def row_counts(fields: tuple[Field, ...], form: dict) -> dict[str, int]:
    """How many rows each list field shows: the filled ones and a few empty ones."""
    counts = {}
    for spec in fields:
        if spec.kind == "rows":
            prefix = f"{spec.name}."
            used = {int(key.split(".")[1]) for key in form
                    if key.startswith(prefix) and key.split(".")[1].isdigit() and form[key]}
            counts[spec.name] = (max(used) + 1 if used else 0) + spec.spare_rows
    return counts


# -- the service's errors -> next to the inputs ---------------------------------------------

def flat_errors(fields: dict, prefix: str = "") -> dict[str, list[str]]:
    """{"products": {"0": {"price": [..]}}} -> {"products.0.price": [..]}."""
    flat: dict[str, list[str]] = {}
    for name, value in fields.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(flat_errors(value, f"{key}."))
        else:
            flat[key] = value if isinstance(value, list) else [str(value)]
    return flat


def place_errors(spec_fields: tuple[Field, ...], errors: dict) -> dict[str, list[str]]:
    """Errors of one line of a list, or of one box, shown at the list's own input."""
    placed = dict(errors)
    for spec in spec_fields:
        if spec.kind in ("lines", "checks"):
            for key in [k for k in placed if k.startswith(f"{spec.name}.")]:
                placed.setdefault(spec.name, [])
                placed[spec.name] = placed[spec.name] + placed.pop(key)
    return placed

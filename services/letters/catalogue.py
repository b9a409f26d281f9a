"""The letter types a village offers (jenis surat), with their default Indonesian templates.

Every type has a unique `type_code` slug (classification codes repeat: 470 is domicile, cover
letter and loss), the schema of its extra fields, the documents it asks for, how long it is valid,
and whether a resident may request it (birth and death letters are made by the office).
Villages switch types on and off and edit the wording (template versions: app/letter_types.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from services.common.errors import NotFound
from services.letters import schemas

IDENTITY = """Nama Lengkap : {name}
NIK : {nik}
Tempat/Tanggal Lahir : {birth_place}, {birth_date}
Jenis Kelamin : {sex}
Agama : {religion}
Status Perkawinan : {marital_status}
Pekerjaan : {occupation}
Kewarganegaraan : {citizenship}
Alamat : {address}"""

OPENING = ("Yang bertanda tangan di bawah ini, {signer_title} {village_name}, Kecamatan "
           "{district_name}, {regency_name}, dengan ini menerangkan bahwa:")

CLOSING = ("Demikian surat keterangan ini dibuat dengan sebenarnya untuk dapat dipergunakan "
           "sebagaimana mestinya.")

VALIDITY = "Surat keterangan ini berlaku sampai dengan tanggal {valid_until}."

# Placeholders every template may use (filled by app.letter_values).
COMMON_PLACEHOLDERS = {
    "name", "nik", "birth_place", "birth_date", "sex", "religion", "marital_status",
    "occupation", "citizenship", "address", "family_number", "father_name", "mother_name",
    "village_name", "district_name", "regency_name", "signer_title", "signer_name", "purpose",
    "valid_until", "number", "issue_date",
}


@dataclass(frozen=True)
class LetterType:
    type_code: str
    classification_code: str
    name: str
    title: str
    fields_schema: type[Schema]
    required_documents: tuple[str, ...]
    validity_days: int | None
    resident_may_request: bool
    purpose_required: bool
    body: str
    subject_must_be_dead: bool = False

    @property
    def placeholders(self) -> set[str]:
        return COMMON_PLACEHOLDERS | set(self.fields_schema().fields)


def _body(*blocks: str) -> str:
    return "\n\n".join(blocks)


TYPES: dict[str, LetterType] = {t.type_code: t for t in (
    LetterType(
        "domisili", "470", "Surat Keterangan Domisili", "SURAT KETERANGAN DOMISILI",
        schemas.NoFields, ("ktp", "kk", "cover_letter"), 30, True, True,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas adalah benar penduduk yang berdomisili di {address}, "
              "Kecamatan {district_name}, {regency_name}.",
              "Surat keterangan ini diberikan untuk keperluan: {purpose}.", VALIDITY, CLOSING)),
    LetterType(
        "sktm", "401", "Surat Keterangan Tidak Mampu", "SURAT KETERANGAN TIDAK MAMPU",
        schemas.PoorFamilyFields, ("ktp", "kk", "cover_letter"), 30, True, True,
        _body(OPENING, IDENTITY,
              "Berdasarkan surat pengantar Ketua RT/RW setempat, orang tersebut di atas adalah "
              "benar warga Desa {village_name} yang tergolong keluarga kurang mampu.",
              "Surat keterangan ini diberikan untuk keperluan {need}: {purpose}.", VALIDITY,
              CLOSING)),
    LetterType(
        "usaha", "503", "Surat Keterangan Usaha", "SURAT KETERANGAN USAHA",
        schemas.BusinessFields, ("ktp", "kk", "cover_letter"), 180, True, True,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas adalah benar mempunyai usaha sebagai berikut:",
              "Nama Usaha : {business_name}\nJenis Usaha : {business_type}\n"
              "Alamat Usaha : {business_address}\nBerdiri Sejak : Tahun {since}",
              "Surat keterangan ini diberikan untuk keperluan: {purpose}.", VALIDITY, CLOSING)),
    LetterType(
        "skck", "331", "Surat Pengantar SKCK", "SURAT PENGANTAR SKCK",
        schemas.NoFields, ("ktp", "kk", "cover_letter"), 30, True, True,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas adalah benar warga Desa {village_name} dan sepanjang "
              "pengetahuan kami berkelakuan baik serta tidak pernah tersangkut perkara pidana.",
              "Surat pengantar ini diberikan untuk mengurus Surat Keterangan Catatan Kepolisian "
              "(SKCK) dengan keperluan: {purpose}.", VALIDITY, CLOSING)),
    LetterType(
        "kelahiran", "474.1", "Surat Keterangan Kelahiran", "SURAT KETERANGAN KELAHIRAN",
        schemas.BirthFields, ("kk", "ktp"), None, False, False,
        _body("Yang bertanda tangan di bawah ini, {signer_title} {village_name}, Kecamatan "
              "{district_name}, {regency_name}, menerangkan bahwa telah lahir seorang anak:",
              "Nama Anak : {name}\nJenis Kelamin : {sex}\nTempat Lahir : {birth_place}\n"
              "Tanggal Lahir : {birth_date}\nPukul : {birth_time} WIB\n"
              "Tempat Dilahirkan : {delivery_place}",
              "dari seorang ibu bernama {mother_name} dan ayah bernama {father_name}, "
              "beralamat di {address}.",
              "Kelahiran ini dilaporkan oleh {reporter_name} ({reporter_relation}).", CLOSING)),
    LetterType(
        "kematian", "474.3", "Surat Keterangan Kematian", "SURAT KETERANGAN KEMATIAN",
        schemas.DeathFields, ("ktp", "kk"), None, False, False,
        _body(OPENING, IDENTITY,
              "Telah meninggal dunia pada tanggal {death_date} pukul {death_time} WIB di "
              "{death_place}, disebabkan karena {cause}.",
              "Kematian ini dilaporkan oleh {reporter_name} ({reporter_relation}).", CLOSING),
        subject_must_be_dead=True),
    LetterType(
        "pindah", "475", "Surat Keterangan Pindah", "SURAT KETERANGAN PINDAH",
        schemas.MovingFields, ("ktp", "kk", "cover_letter"), 30, True, False,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas bermaksud pindah ke {destination_address} dengan alasan "
              "{reason}.", "Anggota keluarga yang ikut pindah: {members}.", VALIDITY, CLOSING)),
    LetterType(
        "pengantar", "470", "Surat Pengantar", "SURAT PENGANTAR",
        schemas.NoFields, ("ktp", "kk"), 30, True, True,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas adalah benar warga Desa {village_name}. Surat pengantar "
              "ini diberikan untuk keperluan: {purpose}.", VALIDITY, CLOSING)),
    LetterType(
        "kehilangan", "470", "Surat Keterangan Kehilangan", "SURAT KETERANGAN KEHILANGAN",
        schemas.LossFields, ("ktp",), 30, True, False,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas telah melaporkan kehilangan {lost_item} pada tanggal "
              "{lost_date} di {lost_place}, dengan kronologi: {circumstances}.",
              "Surat keterangan ini dibuat sebagai pengantar untuk pelaporan kehilangan kepada "
              "pihak yang berwenang.", VALIDITY, CLOSING)),
    LetterType(
        "keramaian", "300", "Surat Izin Keramaian", "SURAT IZIN KERAMAIAN",
        schemas.CrowdPermitFields, ("ktp", "cover_letter"), 30, True, False,
        _body(OPENING, IDENTITY,
              "Orang tersebut di atas diberikan izin untuk menyelenggarakan kegiatan sebagai "
              "berikut:",
              "Nama Kegiatan : {event_name}\nHari/Tanggal : {event_date}\n"
              "Waktu : {event_time} WIB\nTempat : {event_place}\nHiburan : {entertainment}\n"
              "Perkiraan Tamu : {guests} orang",
              "Penyelenggara wajib menjaga ketertiban, keamanan dan kebersihan lingkungan serta "
              "memberitahukan kegiatan ini kepada Polsek setempat.", VALIDITY, CLOSING)),
)}


# How enumerated field values read on the letter.
DISPLAY_VALUES = {
    "need": {"sekolah": "pendidikan", "rumah_sakit": "berobat ke rumah sakit",
             "bantuan": "pengajuan bantuan sosial", "lainnya": "lainnya"},
}


def get_type(type_code: str) -> LetterType:
    try:
        return TYPES[type_code]
    except KeyError:
        raise NotFound(f"unknown letter type {type_code!r}",
                       fields={"type_code": [f"one of {', '.join(TYPES)}"]}) from None

"""Seeds: Serang's 326 villages from the reference data, and one demo village with fake people.

Both are idempotent: running them again changes nothing and emits no event. They never commit:
the caller runs them in a unit of work (services/common/service.py).
Demo NIKs and No. KK are valid in form but clearly fake (district 360405, serials 9xxx, names
ending in "Contoh"); DOMAIN.md forbids real NIKs in demo data.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock, letter_numbers
from services.common.outbox import Outbox
from services.registry import domain, events, identity, models
from services.registry.app import accounts, residents, villages
from services.registry.reference import serang_villages

DEMO_VILLAGE = "36.04.05.2001"
DEMO_DISTRICT_PREFIX = "360405"
SEED_ACTOR = {"role": "operator", "username": "seed", "village_code": None, "nik": None}
DEMO_SETTINGS = {
    "short_code": "2001",
    "office_address": "Jl. Raya Kramatwatu No. 1 (alamat contoh), Kramatwatu, Serang, Banten",
    "head_name": "Suryana Contoh",
    "secretary_name": "Wahyu Contoh",
    "internet_installed": True,
    "digital_services_since": "2024-01-02",
    "website_url": "https://kramatwatu.desa.example",
}
DEMO_ACCOUNTS = (
    ("officer", "demo.officer", DEMO_VILLAGE),
    ("head", "demo.head", DEMO_VILLAGE),
    ("regency_admin", "regency.admin", None),
    ("operator", "platform.operator", None),
)

_REFERENCE_FIELDS = ("name", "district_code", "district_name", "regency_code", "regency_name",
                     "kind")


def seed_villages(session: Session, outbox: Outbox) -> int:
    """Upsert the reference villages. Returns how many were created or changed."""
    existing = {v.code: v for v in session.scalars(sa.select(models.Village))}
    touched = 0
    for ref in serang_villages():
        village = existing.get(ref.code)
        values = {name: getattr(ref, name) for name in _REFERENCE_FIELDS}
        if village is None:
            village = models.Village(code=ref.code, short_code=ref.code.rsplit(".", 1)[1],
                                     head_title=models.DEFAULT_HEAD_TITLE,
                                     internet_installed=False, letter_number_scope="per_type",
                                     letter_number_format=letter_numbers.DEFAULT_FORMAT,
                                     paper_size="A4", **values)
            session.add(village)
        elif all(getattr(village, name) == value for name, value in values.items()):
            continue
        else:
            for name, value in values.items():
                setattr(village, name, value)
        village.updated_at = clock.now()
        session.flush()
        events.emit_village(session, outbox, village)
        touched += 1
    return touched


# -- demo village --------------------------------------------------------------------------------
_HEADS = ("Ahmad", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Iwan", "Joko", "Rudi", "Slamet")
_WIVES = ("Siti", "Dewi", "Fitri", "Lina", "Nur", "Rina", "Sri", "Tuti", "Wati", "Yuni")
_CHILDREN = (("Rizki", "L"), ("Putri", "P"), ("Bayu", "L"), ("Ayu", "P"), ("Dimas", "L"),
             ("Intan", "P"), ("Galih", "L"), ("Nabila", "P"), ("Arif", "L"), ("Zahra", "P"))
_OCCUPATIONS = ("Petani", "Wiraswasta", "Buruh Harian Lepas", "Nelayan", "Pedagang",
                "Karyawan Swasta", "Guru", "Sopir", "Petani", "Wiraswasta")


def _nik(birth: date, sex: str, serial: int) -> str:
    day = birth.day + (identity.FEMALE_DAY_OFFSET if sex == domain.FEMALE else 0)
    return f"{DEMO_DISTRICT_PREFIX}{day:02d}{birth:%m%y}{serial:04d}"


def demo_people() -> list[dict]:
    """About 40 fake residents in 10 families, as register_resident data (heads first)."""
    people, serial = [], 9000
    for index in range(10):
        number = f"{DEMO_DISTRICT_PREFIX}1503{15 + index % 8:02d}{9001 + index:04d}"
        address = {"dusun": f"Dusun {('I', 'II', 'III')[index % 3]}", "rw": index % 3 + 1,
                   "rt": index % 5 + 1, "street": f"Kp. Contoh {index + 1}"}
        religion = "Kristen" if index == 7 else "Islam"
        head_birth = date(1968 + index * 2, index % 12 + 1, 3 + index)
        wife_birth = date(1971 + index * 2, (index + 5) % 12 + 1, 10 + index)
        members = [
            (_HEADS[index], domain.MALE, head_birth, 1, "Kawin", _OCCUPATIONS[index], "SLTA"),
            (_WIVES[index], domain.FEMALE, wife_birth, 3, "Kawin", "Mengurus Rumah Tangga",
             "SLTP"),
        ]
        for offset in range(1 if index in (3, 7) else 2):
            name, sex = _CHILDREN[(index + offset * 3) % len(_CHILDREN)]
            birth = date(wife_birth.year + 22 + offset * 3, (index + offset) % 12 + 1, 5 + offset)
            members.append((name, sex, birth, 4, "Belum Kawin", "Pelajar/Mahasiswa",
                            "SLTA" if birth.year < 2008 else "SD"))
        if index % 4 == 0:
            members.append(("Mbah " + _HEADS[(index + 5) % 10], domain.MALE,
                            date(1945 + index, 8, 17), 7, "Cerai Mati", "Tidak Bekerja",
                            "Tidak Sekolah"))
        head_name, wife_name = f"{_HEADS[index]} Contoh", f"{_WIVES[index]} Contoh"
        head_nik = wife_nik = None
        for given, sex, birth, relationship, marital, occupation, education in members:
            serial += 1
            nik = _nik(birth, sex, serial)
            person = {
                "nik": nik, "name": f"{given} Contoh", "sex": sex, "birth_place": "Serang",
                "birth_date": birth.isoformat(), "religion": religion,
                "marital_status": marital, "occupation": occupation, "education": education,
                "family_number": number, "relationship": relationship, "address": address,
                "ektp_status": "Sudah Rekam" if birth.year < 2008 else "Belum Wajib",
            }
            if relationship == 4:
                person.update(father_name=head_name, father_nik=head_nik,
                              mother_name=wife_name, mother_nik=wife_nik)
            head_nik = nik if relationship == 1 else head_nik
            wife_nik = nik if relationship == 3 else wife_nik
            people.append(person)
    return people


def seed_demo(session: Session, outbox: Outbox, credentials: dict) -> dict:
    """Demo village settings, residents, families, accounts and one resident's PIN.

    `credentials`: {"officer", "head", "regency_admin", "operator": password,
    "resident_pin": "6 digits"}. Existing accounts are never changed.
    """
    village = session.get(models.Village, DEMO_VILLAGE)
    if village is None:
        seed_villages(session, outbox)
        village = session.get(models.Village, DEMO_VILLAGE)
    if village.office_address is None:  # never configured: do not overwrite a village's edits
        villages.update_village(session, outbox, DEMO_VILLAGE, DEMO_SETTINGS, SEED_ACTOR)
    people = demo_people()
    known = set(session.scalars(sa.select(models.Resident.nik).where(
        models.Resident.nik.in_([p["nik"] for p in people]))))
    for person in people:
        if person["nik"] not in known:
            residents.register_resident(session, outbox, DEMO_VILLAGE, person, SEED_ACTOR)
    usernames = []
    for role, username, village_code in DEMO_ACCOUNTS:
        exists = session.scalar(sa.select(sa.func.count()).where(
            models.Account.username == username))
        if not exists:
            accounts.create_account(session, role, username, credentials[role], village_code,
                               SEED_ACTOR)
        usernames.append(username)
    resident_nik = people[0]["nik"]
    resident = session.scalar(sa.select(models.Resident).where(
        models.Resident.nik == resident_nik))
    credential = session.get(models.ResidentCredential, resident.id)
    if credential is None or not accounts.verify_secret(credential.pin_hash,
                                                   credentials["resident_pin"]):
        accounts.set_pin(session, resident, credentials["resident_pin"], SEED_ACTOR)
    return {"residents": len(people),
            "families": len({p["family_number"] for p in people}),
            "accounts": usernames, "resident_nik": resident_nik}

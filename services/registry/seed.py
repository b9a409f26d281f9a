"""Seeds: Serang's 326 villages from the reference data, and one demo village with fake people.

Both are idempotent: running them again changes nothing and emits no event. They never commit:
the caller runs them in a unit of work (services/common/service.py).
Demo people come from the synthetic population generator: NIKs and No. KK valid in form but
clearly fake (serials 9xxx); DOMAIN.md forbids real NIKs in demo data.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock, letter_numbers
from services.common.outbox import Outbox
from services.registry import events, models, synthetic
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
DEMO_FAMILIES = 10
DEMO_SEED = 2001


def demo_people() -> list[dict]:
    """About 35-45 fake residents in 10 families, as register_resident data (heads first).

    The synthetic population generator's families (services/registry/synthetic.py), the same
    that `desa seed synthetic` loads for a whole regency.
    """
    population = synthetic.VillagePopulation(DEMO_VILLAGE, DEMO_SEED, synthetic.SerialBook())
    return [person for family in population.families(DEMO_FAMILIES)
            for person in family.members]


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

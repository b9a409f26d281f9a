"""Registry data for the drill: residents, a family card, life events, a PIN, accounts, reads,
resident history, village settings."""
from __future__ import annotations

from datetime import date

from services.common.outbox import Outbox
from services.registry.app import accounts, families, life_events, residents, villages
from services.registry.seed import seed_villages
from tests.integration.registry.support import person
from tests.support.fakes import fake_family_number

OUTBOX = Outbox("registry")
# Names as the population register writes them (no digits): one word per round keeps every
# round's people distinct.
ROUND_WORDS = ["Ahmad", "Budi", "Cahya", "Dewi", "Eka", "Fajar", "Gita", "Hendra", "Indah",
               "Joko"]


def word(round_: int) -> str:
    return ROUND_WORDS[(round_ - 1) % len(ROUND_WORDS)]


def build(world, village: str, round_: int) -> None:
    officer = {"role": "officer", "village_code": village, "username": f"dr.{village}",
               "nik": None}
    if not world.notes.get("villages seeded"):
        world.do("registry", seed_villages, OUTBOX)
        world.do("registry", accounts.create_account, role="regency_admin",
                 username="dr.regency", password="long-enough-pass-1", village_code=None,
                 actor=None)
        world.notes["villages seeded"] = True
    year = 1970 + round_
    head = world.do("registry", residents.register_resident, OUTBOX, village,
                    person(date(year, 1, 5), "L", name=f"Kepala {word(round_)}"), officer)
    wife = world.do("registry", residents.register_resident, OUTBOX, village,
                    person(date(year + 2, 2, 6), "P", name=f"Istri {word(round_)}"), officer)
    child = world.do("registry", residents.register_resident, OUTBOX, village,
                     person(date(year + 30, 3, 7), "L", name=f"Anak {word(round_)}",
                            marital_status="Belum Kawin"), officer)
    number = fake_family_number()
    world.do("registry", families.register_family, OUTBOX, village, {
        "number": number, "head_nik": head["nik"], "valid_from": "2015-03-15",
        "members": [{"nik": wife["nik"], "relationship": 3},
                    {"nik": child["nik"], "relationship": 4}]}, officer)
    world.do("registry", life_events.record_life_event, OUTBOX, wife["nik"], {
        "type": "birth", "date": "2026-01-02", "place": "Puskesmas",
        "child": {"name": f"Bayi {word(round_)}", "sex": "P", "birth_place": "Serang",
                  "religion": "Islam"}}, village, officer)
    world.do("registry", life_events.record_life_event, OUTBOX, child["nik"], {
        "type": "move_out", "date": "2026-02-01", "destination": "Kota Serang",
        "reason": "Pekerjaan"}, village, officer)
    world.do("registry", residents.update_resident, OUTBOX, head["nik"],
             {"occupation": f"Petani {round_}"}, village, officer)
    world.do("registry", residents.get_resident, head["nik"], village, officer)  # a read log
    world.do("registry", accounts.issue_pin, head["nik"], village, officer)
    world.do("registry", accounts.create_account, role="officer",
             username=f"dr.{village}.{round_}", password="long-enough-pass-1",
             village_code=village, actor=None)
    world.do("registry", villages.update_village, OUTBOX, village,
             {"head_name": f"Kepala Desa {word(round_)}"}, {**officer, "role": "head"})
    world.notes.setdefault("residents", {}).setdefault(village, []).append(head["nik"])

"""Finance data for the drill: an approved budget, receipts, a payment request with evidence paid
with tax withheld, a reversal (cash entries are append-only), a closed month."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from services.common import audit, clock
from services.common.outbox import Outbox
from services.finance.app import budgets, cash, payment_requests, villages
from services.registry import events as registry_events
from services.registry.models import Village

OUTBOX = Outbox("finance")
YEAR = clock.local_today().year - 1
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def staff(role: str, village: str) -> dict:
    return {"role": role, "village_code": village, "username": f"dr.{role}"}


def day(month: int, dom: int = 15) -> str:
    return date(YEAR, month, dom).isoformat()


def build(world, village: str, round_: int) -> None:
    officer, treasurer = staff("officer", village), staff("treasurer", village)
    with Session(world.engine("registry")) as registry:  # as registry's village.updated would
        world.do("finance", villages.apply_village,
                 registry_events.village_state(registry.get(Village, village)))
    lines = world.notes.setdefault("finance lines", {})
    if village not in lines:
        world.do("finance", budgets.create_budget, OUTBOX, village, {"year": YEAR}, village,
                 officer)
        ids = {}
        for name, data in {
            "dd": {"account_code": "4.2.1", "source": "DDS", "amount": 100_000_000,
                   "description": "Dana Desa"},
            "road": {"account_code": "5.3.5.01", "activity_code": "02.03.03", "source": "DDS",
                     "amount": 60_000_000, "description": "Rabat beton"},
        }.items():
            ids[name] = world.do("finance", budgets.add_line, OUTBOX, village, YEAR, data,
                                 village, officer)["id"]
        world.do("finance", budgets.step, OUTBOX, village, YEAR, "approve", village,
                 staff("head", village))
        lines[village] = ids
    ids = lines[village]
    month = 2 * round_
    receipt = world.do("finance", cash.record_receipt, OUTBOX, village,
                       {"date": day(month, 3), "line_id": ids["dd"], "amount": 40_000_000,
                        "description": f"Dana Desa tahap {round_}", "method": "bank"},
                       village, treasurer)
    world.do("finance", cash.reverse, OUTBOX, receipt["id"], {"reason": "Salah input"}, village,
             treasurer)
    world.do("finance", cash.record_receipt, OUTBOX, village,
             {"date": day(month, 5), "line_id": ids["dd"], "amount": 40_000_000,
              "description": f"Dana Desa tahap {round_}", "method": "bank"}, village, treasurer)
    request = world.do("finance", payment_requests.file_request, OUTBOX, village,
                       {"line_id": ids["road"], "kind": "LS", "amount": 10_000_000,
                        "payee": "CV Maju Jaya", "description": "Pekerjaan",
                        "taxes": [{"code": "PPH23", "amount": 200_000}]}, village, officer)
    target = world.do("finance", payment_requests.evidence_key, request["id"], village, officer)
    world.documents.put_bytes(target["key"], JPEG + bytes([round_]) * 300, "image/jpeg")
    world.do("finance", payment_requests.record_evidence, world.documents, request["id"],
             {"key": target["key"], "filename": "kuitansi.jpg"}, village, officer)
    for name, role, data in (("verify", "secretary", {}), ("approve", "head", {}),
                             ("pay", "treasurer", {"date": day(month, 10), "method": "bank"})):
        world.do("finance", payment_requests.step, OUTBOX, request["id"], name, data, village,
                 staff(role, village))
    # Finance holds no NIK today; its kernel audit log is backed up like any table all the same.
    world.do("finance", audit.record, [(f"99010101019{round_:05d}", village)], actor=officer,
             action=audit.READ, purpose="finance.payee")
    for closing in range(2 * round_ - 1, 2 * round_ + 1):
        world.do("finance", cash.close_period, OUTBOX, village, f"{YEAR}-{closing:02d}",
                 village, treasurer)

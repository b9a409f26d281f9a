"""Payment requests against PostgreSQL: budget control (also under a race), paying with tax,
the books and the realisation report agreeing, advances, evidence in object storage."""
from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.common.objectstore import documents_store
from services.finance.app import cash, payment_requests, reports
from tests.integration.finance.conftest import (
    DANA_DESA,
    OUTBOX,
    ROAD,
    SUPPLIES,
    YEAR,
    day,
    new_village,
    staff,
)

pytestmark = pytest.mark.integration


def file(finance, village, line_id, amount, kind="LS", taxes=()):
    return finance(payment_requests.file_request, OUTBOX, village,
                   {"line_id": line_id, "kind": kind, "amount": amount, "payee": "CV Maju Jaya",
                    "description": "Pekerjaan", "taxes": list(taxes)},
                   village, staff("officer", village))


def step(finance, village, request, name, role, data=None):
    return finance(payment_requests.step, OUTBOX, request["id"], name, data or {}, village,
                   staff(role, village))


def approved(finance, village, line_id, amount, **kwargs):
    request = file(finance, village, line_id, amount, **kwargs)
    step(finance, village, request, "verify", "secretary")
    return step(finance, village, request, "approve", "head")


def test_over_the_remaining_budget_is_refused_at_verify_and_at_approve(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"supplies": SUPPLIES})
    approved(finance, village, lines["supplies"], 7_000_000)
    late = file(finance, village, lines["supplies"], 3_000_001)
    with pytest.raises(Unprocessable) as refused:
        step(finance, village, late, "verify", "secretary")
    assert "5.2.1 / 01.01.04 / DDS" in refused.value.message
    assert "Rp3.000.000 left" in refused.value.message

    # Verified while there was room; approving must look again.
    second = file(finance, village, lines["supplies"], 3_000_000)
    third = file(finance, village, lines["supplies"], 3_000_000)
    step(finance, village, second, "verify", "secretary")
    step(finance, village, third, "verify", "secretary")
    step(finance, village, second, "approve", "head")
    with pytest.raises(Unprocessable, match="Rp0 left"):
        step(finance, village, third, "approve", "head")


def test_two_approvals_racing_for_the_last_rupiah_one_wins(finance):
    """Each of several lines has room for one of two verified requests; both are approved at
    once, in two connections. Exactly one per line may win."""
    village = new_village()
    names = [f"l{i}" for i in range(4)]
    lines = finance.approved_budget(village, {n: {**SUPPLIES, "amount": 1_000} for n in names})
    pairs = []
    for name in names:
        pair = [file(finance, village, lines[name], 600) for _ in range(2)]
        for request in pair:
            step(finance, village, request, "verify", "secretary")
        pairs.append(pair)

    outcomes: list[str] = []
    start = threading.Barrier(2 * len(pairs))

    def approve(request):
        start.wait()
        try:
            step(finance, village, request, "approve", "head")
            outcomes.append("approved")
        except Unprocessable:
            outcomes.append("refused")

    threads = [threading.Thread(target=approve, args=(r,)) for pair in pairs for r in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved"] * len(pairs) + ["refused"] * len(pairs)
    for name in names:
        page = finance(payment_requests.list_requests, village, {"status": "approved"}, village)
        assert sum(r["amount"] for r in page["items"] if r["line_id"] == lines[name]) == 600


def test_pay_with_tax_deposit_and_the_books_agree_with_the_report(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"dd": DANA_DESA, "road": ROAD})
    treasurer = staff("treasurer", village)
    finance(cash.record_receipt, OUTBOX, village,
            {"date": day(2, 3), "line_id": lines["dd"], "amount": 40_000_000,
             "description": "Dana Desa tahap I", "method": "bank"}, village, treasurer)
    request = approved(finance, village, lines["road"], 10_000_000,
                       taxes=[{"code": "PPH23", "amount": 200_000}])
    paid = step(finance, village, request, "pay", "treasurer",
                {"date": day(3, 2), "method": "bank"})
    assert (paid["status"], paid["net_amount"]) == ("paid", 9_800_000)
    with pytest.raises(Unprocessable):  # more than withheld
        finance(cash.deposit_tax, OUTBOX, village,
                {"date": day(3, 9), "tax_code": "PPH23", "amount": 200_001,
                 "reference": "0123456789ABCDEF"}, village, treasurer)
    finance(cash.deposit_tax, OUTBOX, village,
            {"date": day(3, 9), "tax_code": "PPH23", "amount": 200_000,
             "reference": "0123456789ABCDEF"}, village, treasurer)

    general = finance(cash.cash_book, village, {"year": YEAR}, village)
    assert [(e["receipt"], e["payment"], e["balance"]) for e in general["entries"]] == [
        (40_000_000, 0, 40_000_000), (0, 10_000_000, 30_000_000),
        (200_000, 0, 30_200_000), (0, 200_000, 30_000_000)]
    tax = finance(cash.cash_book, village, {"book": "tax", "year": YEAR}, village)
    assert [(e["receipt"], e["payment"]) for e in tax["entries"]] == [(200_000, 0),
                                                                      (0, 200_000)]
    assert tax["closing_balance"] == 0
    march = finance(cash.cash_book, village, {"from": day(3, 1), "to": day(3, 31)}, village)
    assert (march["opening_balance"], march["closing_balance"]) == (40_000_000, 30_000_000)

    report = finance(reports.realisation, village, {"year": YEAR, "by": "account"}, village)
    rows = {row["code"]: row for row in report["rows"]}
    assert rows["5.3.5.01"]["realised"] == 10_000_000  # the gross, not the net
    assert rows["4.2.1"]["realised"] == 40_000_000
    realised = report["totals"]["realised"]
    assert general["closing_balance"] == report["cash"]["balance"] == (
        realised["silpa"] + report["cash"]["pfk_held"]) == 30_000_000
    budget = finance(reports.public_summary, village, YEAR)
    assert budget["spending_by_bidang"][0]["realised"] == 10_000_000
    assert [e for e in finance.events(village) if not e.startswith("budget.")] == [
        "cash_entry.posted", "payment_request.submitted", "payment_request.verified",
        "payment_request.approved", "cash_entry.posted", "cash_entry.posted",
        "payment_request.paid", "cash_entry.posted"]


def test_an_advance_is_settled_and_its_unspent_part_returns(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"dd": DANA_DESA, "supplies": SUPPLIES})
    finance(cash.record_receipt, OUTBOX, village,
            {"date": day(1, 10), "line_id": lines["dd"], "amount": 20_000_000,
             "description": "Dana Desa", "method": "cash"}, village, staff("treasurer", village))
    request = approved(finance, village, lines["supplies"], 5_000_000, kind="UM")
    paid = step(finance, village, request, "pay", "treasurer",
                {"date": day(1, 12), "method": "cash"})
    assert paid["overdue"]  # paid last year, never settled: long past 10 working days
    advance = finance(cash.cash_book, village, {"book": "advance", "year": YEAR}, village)
    assert (advance["closing_balance"], advance["overdue_advances"]) == (5_000_000,
                                                                         [request["id"]])
    with pytest.raises(Unprocessable):
        step(finance, village, request, "settle", "treasurer", {"actual_amount": 5_000_001})
    settled = step(finance, village, request, "settle", "treasurer",
                   {"actual_amount": 4_250_000})
    assert (settled["status"], settled["overdue"]) == ("settled", False)
    budget = finance(reports.realisation, village, {"year": YEAR}, village)
    assert {r["code"]: r["realised"] for r in budget["rows"]}["5.2.1"] == 4_250_000
    advance = finance(cash.cash_book, village, {"book": "advance", "year": YEAR}, village)
    assert advance["closing_balance"] == 0
    general = finance(cash.cash_book, village, {"year": YEAR}, village)
    assert general["closing_balance"] == 20_000_000 - 4_250_000


def test_the_workflow_belongs_to_its_roles(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"supplies": SUPPLIES})
    request = file(finance, village, lines["supplies"], 1_000)
    with pytest.raises(Forbidden):
        step(finance, village, request, "verify", "officer")
    with pytest.raises(Conflict):
        step(finance, village, request, "approve", "head")
    rejected = step(finance, village, request, "reject", "secretary", {"reason": "no receipt"})
    assert [s["step"] for s in rejected["steps"]] == ["file", "reject"]


def test_evidence_goes_to_object_storage_and_bad_files_leave_nothing(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"supplies": SUPPLIES})
    request = file(finance, village, lines["supplies"], 1_000)
    officer = staff("officer", village)
    store = documents_store()
    target = finance(payment_requests.evidence_key, request["id"], village, officer)
    photo = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"x" * 100
    store.put_bytes(target["key"], photo, "image/jpeg")
    done = finance(payment_requests.record_evidence, store, request["id"],
                   {"key": target["key"], "filename": "kuitansi.jpg"}, village, officer)
    assert [(e["content_type"], e["size"]) for e in done["evidence"]] == [("image/jpeg", 120)]
    assert store.get_bytes(target["key"]) == photo

    bad = finance(payment_requests.evidence_key, request["id"], village, officer)
    store.put_bytes(bad["key"], b"MZ not a receipt", "image/jpeg")
    with pytest.raises(Exception, match="accepted"):
        finance(payment_requests.record_evidence, store, request["id"],
                {"key": bad["key"], "filename": "x.exe"}, village, officer)
    assert not store.exists(bad["key"])


def test_posted_entries_cannot_be_changed_even_in_sql(finance):
    village = new_village()
    lines = finance.approved_budget(village, {"dd": DANA_DESA})
    entry = finance(cash.record_receipt, OUTBOX, village,
                    {"date": day(1), "line_id": lines["dd"], "amount": 1_000,
                     "description": "DD", "method": "cash"}, village, staff("treasurer", village))
    with finance.engine.connect() as conn:
        for statement in ("UPDATE cash_entries SET amount = 1 WHERE id = :id",
                          "DELETE FROM cash_entries WHERE id = :id"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                conn.execute(sa.text(statement), {"id": entry["id"]})
            conn.rollback()
        # A restore from backup replaces a village's rows (services/common/backup): allowed.
        conn.execute(sa.text("SELECT set_config('desa.backup_restore', 'on', true)"))
        assert conn.execute(sa.text("DELETE FROM cash_entries WHERE id = :id"),
                            {"id": entry["id"]}).rowcount == 1
        conn.rollback()


def test_evidence_is_opened_only_by_readers_of_that_village(finance):
    village, other = new_village(), new_village()
    lines = finance.approved_budget(village, {"supplies": SUPPLIES})
    request = file(finance, village, lines["supplies"], 1_000)
    officer = staff("officer", village)
    store = documents_store()
    target = finance(payment_requests.evidence_key, request["id"], village, officer)
    photo = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"y" * 50
    store.put_bytes(target["key"], photo, "image/jpeg")
    done = finance(payment_requests.record_evidence, store, request["id"],
                   {"key": target["key"], "filename": "nota.jpg"}, village, officer)
    evidence_id = done["evidence"][0]["id"]
    found = finance(payment_requests.open_evidence, request["id"], evidence_id, village,
                    staff("secretary", village))
    assert (found["filename"], found["content_type"], found["size"]) == (
        "nota.jpg", "image/jpeg", len(photo))
    assert store.get_bytes(found["key"]) == photo
    regency = finance(payment_requests.open_evidence, request["id"], evidence_id, None,
                      staff("regency_admin", None))
    assert regency["key"] == found["key"]
    with pytest.raises(NotFound):  # another village's staff learn nothing
        finance(payment_requests.open_evidence, request["id"], evidence_id, other,
                staff("officer", other))
    with pytest.raises(NotFound):
        finance(payment_requests.open_evidence, request["id"], str(uuid.uuid4()), village,
                officer)
    with pytest.raises(Forbidden):
        finance(payment_requests.open_evidence, request["id"], evidence_id, village,
                staff("resident", village))

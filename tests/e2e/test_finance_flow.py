"""Village finance through the gateway: the issue's whole cycle, over HTTP, every process real.

The budget is for last year, so every date of it is in the past and its months have ended.
"""
from __future__ import annotations

import csv
import io
import time
import zlib
from datetime import date

import pytest
import requests
from openpyxl import load_workbook

pytestmark = pytest.mark.e2e

VILLAGE, OTHER = "36.04.05.2007", "36.04.05.2008"
YEAR = date.today().year - 1
NTPN = "0A1B2C3D4E5F6G7H"


def png() -> bytes:
    """A valid 1x1 PNG: the photo of a receipt."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    header = b"\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


class Client:
    def __init__(self, platform, role: str | None, village: str | None = VILLAGE):
        self.platform = platform
        self.headers = (platform.auth(platform.staff_token(role, village)) if role else {})

    def __call__(self, method: str, path: str, expect: int, **kwargs) -> requests.Response:
        response = requests.request(method, self.platform.api(path), headers=self.headers,
                                    timeout=60, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code,
                                                response.text)
        return response


@pytest.fixture(scope="module")
def people(platform):
    return {role: Client(platform, role) for role in
            ("officer", "secretary", "head", "treasurer")}


def test_the_finance_cycle(platform, people):
    officer, secretary, head, treasurer = (people[r] for r in
                                           ("officer", "secretary", "head", "treasurer"))
    budget = officer("POST", f"/villages/{VILLAGE}/budgets", 201, json={"year": YEAR}).json()
    assert (budget["status"], budget["version"], budget["lines"]) == ("draft", 1, [])
    base = f"/villages/{VILLAGE}/budgets/{YEAR}"
    dana_desa = officer("POST", f"{base}/lines", 201, json={
        "account_code": "4.2.1", "source": "DDS", "amount": 100_000_000,
        "description": "Dana Desa"}).json()
    tents = officer("POST", f"{base}/lines", 201, json={
        "account_code": "5.2.4", "activity_code": "01.04.01", "source": "DDS",
        "amount": 5_000_000, "description": "Sewa tenda musrenbang"}).json()
    missing = officer("POST", f"{base}/lines", 400, json={
        "account_code": "5.2.4", "source": "DDS", "amount": 1}).json()
    assert "activity_code" in missing["error"]["fields"]
    officer("POST", f"{base}/approve", 403)
    assert head("POST", f"{base}/approve", 200).json()["status"] == "approved"

    treasurer("POST", f"/villages/{VILLAGE}/receipts", 201, json={
        "date": f"{YEAR}-02-03", "line_id": dana_desa["id"], "amount": 40_000_000,
        "description": "Dana Desa tahap I", "method": "bank"})

    request = officer("POST", f"/villages/{VILLAGE}/payment-requests", 201, json={
        "line_id": tents["id"], "kind": "LS", "amount": 5_000_000, "payee": "CV Tenda Jaya",
        "description": "Sewa tenda", "taxes": [{"code": "PPH23", "amount": 100_000}]}).json()
    assert (request["status"], request["number"]) == ("submitted", f"0001/SPP/{YEAR}")
    with_photo = officer("POST", f"/payment-requests/{request['id']}/evidence", 201,
                         files={"file": ("kuitansi.png", png(), "image/png")}).json()
    assert with_photo["evidence"][0]["content_type"] == "image/png"
    photo_url = f"/payment-requests/{request['id']}/evidence/{with_photo['evidence'][0]['id']}"
    opened = secretary("GET", photo_url, 200)
    assert (opened.content, opened.headers["Content-Type"]) == (png(), "image/png")
    Client(platform, "officer", OTHER)("GET", photo_url, 404)
    Client(platform, None)("GET", photo_url, 401)
    secretary("POST", f"/payment-requests/{request['id']}/verify", 200)
    head("POST", f"/payment-requests/{request['id']}/approve", 200)
    paid = treasurer("POST", f"/payment-requests/{request['id']}/pay", 200,
                     json={"date": f"{YEAR}-03-02", "method": "bank"}).json()
    assert (paid["status"], paid["net_amount"]) == ("paid", 4_900_000)
    treasurer("POST", f"/villages/{VILLAGE}/tax-deposits", 201, json={
        "date": f"{YEAR}-03-09", "tax_code": "PPH23", "amount": 100_000, "reference": NTPN})

    # An overspend is refused with the line and what it has left.
    greedy = officer("POST", f"/villages/{VILLAGE}/payment-requests", 201, json={
        "line_id": tents["id"], "kind": "LS", "amount": 1, "payee": "CV Lagi",
        "description": "Tambahan"}).json()
    refused = secretary("POST", f"/payment-requests/{greedy['id']}/verify", 422).json()
    assert refused["error"]["message"] == (
        "Line 5.2.4 / 01.04.01 / DDS has Rp0 left; the request is for Rp1.")

    # A wrong entry is corrected by a reversal pointing at it.
    wrong = treasurer("POST", f"/villages/{VILLAGE}/receipts", 201, json={
        "date": f"{YEAR}-03-10", "line_id": dana_desa["id"], "amount": 1_234,
        "description": "salah ketik", "method": "cash"}).json()
    reversal = treasurer("POST", f"/cash-entries/{wrong['id']}/reverse", 201,
                         json={"reason": "salah ketik"}).json()
    assert (reversal["reverses_id"], reversal["kind"], reversal["amount"]) == (
        wrong["id"], "payment", 1_234)
    treasurer("POST", f"/cash-entries/{wrong['id']}/reverse", 409, json={"reason": "lagi"})

    # The books and the report agree to the rupiah.
    general = officer("GET", f"/villages/{VILLAGE}/cash-book", 200,
                      params={"book": "general", "year": YEAR}).json()
    assert general["closing_balance"] == 40_000_000 - 5_000_000 + 100_000 - 100_000
    assert general["closing_balance"] == sum(e["receipt"] - e["payment"]
                                             for e in general["entries"])
    tax = officer("GET", f"/villages/{VILLAGE}/cash-book", 200,
                  params={"book": "tax", "year": YEAR}).json()
    assert [(e["receipt"], e["payment"]) for e in tax["entries"]] == [(100_000, 0),
                                                                      (0, 100_000)]
    report = officer("GET", f"/villages/{VILLAGE}/reports/realisation", 200,
                     params={"year": YEAR, "by": "account"}).json()
    rows = {row["code"]: row for row in report["rows"]}
    assert (rows["5.2.4"]["realised"], rows["5.2.4"]["remaining"]) == (5_000_000, 0)
    assert rows["4.2.1"]["realised"] == 40_000_000
    assert report["cash"]["balance"] == general["closing_balance"]
    assert (report["totals"]["realised"]["silpa"] + report["cash"]["pfk_held"]
            == general["closing_balance"])

    # Downloads.
    as_csv = officer("GET", f"/villages/{VILLAGE}/reports/realisation", 200,
                     params={"year": YEAR, "format": "csv"})
    assert ["5.2.4", "Belanja Jasa Sewa", "5000000", "5000000", "0", "100.0"] in list(
        csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    as_xlsx = officer("GET", f"/villages/{VILLAGE}/reports/semester", 200,
                      params={"year": YEAR, "format": "xlsx"})
    assert "Semester Pertama" in load_workbook(io.BytesIO(as_xlsx.content)).active["A1"].value
    as_pdf = officer("GET", f"/villages/{VILLAGE}/reports/realisation", 200,
                     params={"year": YEAR, "format": "pdf"})
    assert as_pdf.content.startswith(b"%PDF")

    # Residents see the result without a login.
    public = Client(platform, None)("GET", f"/public/villages/{VILLAGE}/apbdes/{YEAR}", 200)
    summary = public.json()
    assert [(r["code"], r["realised"]) for r in summary["income_by_source"]] == [
        ("DDS", 40_000_000)]
    assert [(r["code"], r["realised"]) for r in summary["spending_by_bidang"]] == [
        ("01", 5_000_000)]

    # A closed month takes no more postings.
    treasurer("POST", f"/villages/{VILLAGE}/periods/{YEAR}-01/close", 200)
    closed = treasurer("POST", f"/villages/{VILLAGE}/receipts", 409, json={
        "date": f"{YEAR}-01-20", "line_id": dana_desa["id"], "amount": 1,
        "description": "telat", "method": "cash"}).json()
    assert "closed" in closed["error"]["message"]

    admin = Client(platform, "regency_admin", None)
    deadline = time.monotonic() + 60  # the seeded villages' events may still be on their way
    while True:
        regency = admin("GET", f"/regency/finance/{YEAR}", 200,
                        params={"sort": "realised_percent"}).json()
        if len(regency) >= 326 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    mine = next(row for row in regency if row["village_code"] == VILLAGE)
    assert (mine["dana_desa_budget"], mine["dana_desa_received"]) == (100_000_000, 40_000_000)
    # Every seeded village is listed by name (finance keeps registry's village.updated events),
    # those without an approved budget as `none`: the regency sees who is missing.
    assert len(regency) >= 326
    assert mine["village_name"] and mine["district_name"]
    assert next(row for row in regency if row["village_code"] == OTHER)["status"] == "none"


def test_the_chart_of_accounts_is_public(platform):
    reference = Client(platform, None)("GET", "/finance/reference", 200).json()
    assert {"4.2.1", "5.1.1"} <= {account["code"] for account in reference["accounts"]}
    Client(platform, None)("GET", "/finance/reference", 400, params={"regency": "x"})


def test_another_villages_staff_and_anonymous_callers_are_refused(platform, people):
    stranger = Client(platform, "officer", OTHER)
    stranger("GET", f"/villages/{VILLAGE}/budgets/{YEAR}", 403)
    stranger("GET", f"/villages/{VILLAGE}/cash-book", 403)
    Client(platform, None)("GET", f"/villages/{VILLAGE}/budgets/{YEAR}", 401)
    Client(platform, None)("GET", f"/public/villages/{OTHER}/apbdes/{YEAR}", 404)


def test_a_budget_import_with_errors_imports_nothing(platform, people):
    content = (b"account_code,activity_code,source,amount,description\n"
               b"4.2.3,,ADD,300000000,ADD\n"
               b"5.1.1,,ADD,120000000,no activity\n")
    path = f"/villages/{OTHER}/budgets/{YEAR}/import"
    officer = Client(platform, "officer", OTHER)
    refused = officer("POST", path, 422, files={"file": ("apbdes.csv", content)}).json()
    assert refused["error"]["fields"]["rows"] == [
        {"line": 3, "field": "activity_code",
         "message": "Spending lines need an activity (BB.SS.KK)."}]
    officer("GET", f"/villages/{OTHER}/budgets/{YEAR}", 404)

"""Realisation from the entries: by account, activity and source; agreement with the books."""
from datetime import date

import pytest

from services.common.rules import InvalidValue
from services.finance import reference
from services.finance.domain import books, reports
from services.finance.domain.books import Entry
from services.finance.domain.reports import LineFigures

REF = reference.for_village("36.04.05.2001")
DAY = date(2026, 3, 2)
LINES = {  # id: (account, activity, source, budget)
    "dd": ("4.2.1", None, "DDS", 1_000_000),
    "add": ("4.2.3", None, "ADD", 400_000),
    "atk": ("5.2.1", "01.01.04", "ADD", 200_000),
    "road": ("5.3.5.01", "02.03.03", "DDS", 700_000),
    "silpa": ("6.1.1", None, "DLL", 50_000),
    "bumdes": ("6.2.2", None, "DDS", 100_000),
}


def entries():
    made = []

    def post(kind, amount, line=None, account=None, tax=None):
        account = account or LINES[line][0]
        made.append(Entry(f"e{len(made)}", len(made) + 1, DAY, kind, amount, account, "x",
                          line_id=line, tax_code=tax))

    post("receipt", 1_000_000, "dd")
    post("receipt", 50_000, "silpa")
    post("payment", 500_000, "road")
    post("receipt", 10_000, account="7.1.4", tax="PPH23")   # withheld on the road payment
    post("payment", 120_000, "atk")
    post("receipt", 20_000, "atk")                          # unspent advance returned
    post("payment", 100_000, "bumdes")
    post("payment", 10_000, account="7.1.4", tax="PPH23")   # deposited
    post("payment", 1_000_000, "dd")                        # a wrong entry ...
    post("receipt", 1_000_000, "dd")                        # ... and its reversal
    return made


def figures():
    realised = reports.realised_by_line(entries())
    return [LineFigures(key, account, activity, source, budget, realised.get(key, 0))
            for key, (account, activity, source, budget) in LINES.items()]


def test_realised_per_line_in_the_direction_of_its_kind():
    assert reports.realised_by_line(entries()) == {
        "dd": 1_000_000, "silpa": 50_000, "road": 500_000, "atk": 100_000, "bumdes": 100_000}


def test_by_account():
    report = reports.realisation(REF, figures(), "account", entries())
    rows = {row["code"]: row for row in report["rows"]}
    assert rows["5.3.5.01"] == {"code": "5.3.5.01", "name": "Belanja Modal Jalan Desa (Rabat "
                                "Beton)", "budget": 700_000, "realised": 500_000,
                                "remaining": 200_000, "percent": 71.43}
    assert rows["4.2.3"]["percent"] == 0.0
    assert list(rows) == sorted(rows)


def test_the_report_and_the_general_cash_book_agree_to_the_rupiah():
    report = reports.realisation(REF, figures(), "account", entries())
    realised = report["totals"]["realised"]
    book = books.running_book(books.book_rows("general", entries()))
    assert book.closing_balance == report["cash"]["balance"] == 350_000
    # The withheld tax was deposited, so the cash is exactly the realised SiLPA.
    assert report["cash"]["pfk_held"] == 0
    assert realised["silpa"] == book.closing_balance
    assert realised == {"income": 1_000_000, "spending": 600_000, "financing_receipts": 50_000,
                        "financing_expenditures": 100_000, "surplus_deficit": 400_000,
                        "net_financing": -50_000, "silpa": 350_000}


def test_tax_still_held_is_cash_beyond_the_realised_silpa():
    held = [*entries()[:-3], Entry("t", 99, DAY, "receipt", 5_000, "7.1.1", "x", tax_code="PPN")]
    report = reports.realisation(REF, figures(), "account", held)
    book = books.running_book(books.book_rows("general", held))
    assert report["cash"]["pfk_held"] == 15_000
    assert book.closing_balance == report["cash"]["balance"]


def test_by_activity_and_by_source_cover_spending():
    by_activity = reports.realisation(REF, figures(), "activity", entries())["rows"]
    assert [(r["code"], r["realised"]) for r in by_activity] == [("01.01.04", 100_000),
                                                                 ("02.03.03", 500_000)]
    by_source = reports.realisation(REF, figures(), "source", entries())["rows"]
    assert [(r["code"], r["budget"], r["realised"]) for r in by_source] == [
        ("ADD", 200_000, 100_000), ("DDS", 800_000, 600_000)]
    with pytest.raises(InvalidValue):
        reports.realisation(REF, figures(), "month", entries())


def test_the_public_summary():
    summary = reports.public_summary(REF, figures())
    assert [(r["code"], r["budget"], r["realised"]) for r in summary["income_by_source"]] == [
        ("ADD", 400_000, 0), ("DDS", 1_000_000, 1_000_000)]
    assert [(r["code"], r["name"]) for r in summary["spending_by_bidang"]] == [
        ("01", "Penyelenggaraan Pemerintahan Desa"), ("02", "Pelaksanaan Pembangunan Desa")]
    assert summary["financing"]["net"] == {"budget": -50_000, "realised": -50_000}


def test_the_regency_sees_dana_desa_budgeted_received_and_spent():
    assert reports.dana_desa(figures()) == {
        "dana_desa_budget": 1_000_000, "dana_desa_received": 1_000_000,
        "dana_desa_spent": 600_000, "realised_percent": 60.0}


def test_semester_one_ends_in_june():
    assert reports.semester_end(2026) == date(2026, 6, 30)


def test_the_report_as_csv_xlsx_and_pdf():
    import csv
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    from services.finance import exports

    report = {"village_code": "36.04.05.2001", "year": 2026,
              **reports.realisation(REF, figures(), "account", entries())}
    rows = list(csv.reader(io.StringIO(exports.to_csv(report).decode("utf-8-sig"))))
    assert rows[0] == ["Kode", "Uraian", "Anggaran", "Realisasi", "Lebih/(Kurang)", "%"]
    assert ["5.3.5.01", "Belanja Modal Jalan Desa (Rabat Beton)", "700000", "500000",
            "200000", "71.43"] in rows
    assert rows[-1][1:4] == ["SiLPA/SiKPA", "450000", "350000"]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(report, semester=True))).active
    assert "Semester Pertama" in sheet["A1"].value
    assert any(row[0] == "4.2.1" and row[3] == 1_000_000
               for row in sheet.iter_rows(values_only=True))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        exports.to_pdf(report))).pages)
    assert "1.000.000" in text and "Rabat Beton" in text

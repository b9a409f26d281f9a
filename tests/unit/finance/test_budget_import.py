"""Budget lines from CSV and XLSX: Siskeudes headers, thousands separators, per-row errors."""
import io

from openpyxl import Workbook

from services.finance import budget_import, reference

REF = reference.for_village("36.04.05.2001")


def test_a_csv_with_indonesian_headers_semicolons_and_dotted_thousands():
    content = (b"Kode Rekening;Kode Kegiatan;Sumber Dana;Anggaran;Uraian\n"
               b"4.2.1;;DDS;1.000.000.000;Dana Desa tahap I-III\n"
               b"5.3.5.01;02.03.03;dds;450000000;Rabat beton Kp. Babakan\n")
    parsed = budget_import.parse(REF, content, "apbdes.csv")
    assert parsed.errors == ()
    assert parsed.rows == 2
    assert [(line.account_code, line.activity_code, line.source, line.amount)
            for line in parsed.lines] == [("4.2.1", None, "DDS", 1_000_000_000),
                                          ("5.3.5.01", "02.03.03", "DDS", 450_000_000)]


def test_every_wrong_row_is_reported_with_its_line_and_field():
    content = (b"account_code,activity_code,source,amount,description\n"
               b"4.2.1,,DDS,1000,ok\n"
               b"9.9.9,,DDS,1000,unknown account\n"
               b"\n"
               b"5.2.1,,DDS,1000,no activity\n"
               b"5.2.1,01.01.04,XYZ,1000,bad source\n"
               b"5.2.1,01.01.04,DDS,12.5,bad amount\n")
    parsed = budget_import.parse(REF, content, "apbdes.csv")
    assert [(e["line"], e["field"]) for e in parsed.errors] == [
        (3, "account_code"), (5, "activity_code"), (6, "source"), (7, "amount")]


def test_missing_columns_and_unreadable_files():
    parsed = budget_import.parse(REF, b"account_code,amount\n4.2.1,5\n", "a.csv")
    assert [(e["line"], e["field"]) for e in parsed.errors] == [(1, "source")]
    assert budget_import.parse(REF, b"", "a.csv").errors[0]["field"] == "file"
    assert budget_import.parse(REF, b"\xff\xfe", "a.csv").errors[0]["field"] == "file"
    assert budget_import.parse(REF, b"PK not a zip", "a.xlsx").errors[0]["field"] == "file"


def test_an_xlsx_workbook():
    book = Workbook()
    sheet = book.active
    sheet.append(["Kode Rekening", "Kode Kegiatan", "Sumber Dana", "Jumlah", "Uraian"])
    sheet.append(["4.2.3", None, "ADD", 300_000_000, "ADD"])
    sheet.append(["5.1.1", "01.01.01", "ADD", 120000000.0, "Siltap kepala desa"])
    sheet.append(["5.1.1", "01.01.01", "ADD", 1.5, "fraction"])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = budget_import.parse(REF, buffer.getvalue(), "APBDES.XLSX")
    assert [(line.account_code, line.amount) for line in parsed.lines] == [
        ("4.2.3", 300_000_000), ("5.1.1", 120_000_000)]
    assert [(e["line"], e["field"]) for e in parsed.errors] == [(4, "amount")]

"""The outgoing-letter register (Buku Agenda surat keluar) as CSV and XLSX files."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

COLUMNS = (
    ("no", "No."),
    ("number", "Nomor Surat"),
    ("date", "Tanggal"),
    ("classification_code", "Kode Klasifikasi"),
    ("addressee", "Kepada / Nama Pemohon"),
    ("subject", "Perihal"),
)


def register_csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([title for _, title in COLUMNS])
    for row in rows:
        writer.writerow([row.get(key, "") for key, _ in COLUMNS])
    # A byte-order mark so spreadsheet programs open the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode()


def register_xlsx(rows: list[dict], title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Buku Agenda"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append([header for _, header in COLUMNS])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(key, "") for key, _ in COLUMNS])
    for column, width in zip("ABCDEF", (6, 28, 12, 16, 32, 50), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

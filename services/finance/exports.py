"""The realisation report as a file: CSV, XLSX or PDF (Laporan Realisasi Pelaksanaan APB Desa).

Amounts stay whole rupiah in CSV and XLSX (numbers a spreadsheet can add up); the PDF prints
them the Indonesian way (1.250.000).
"""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

COLUMNS = (("code", "Kode"), ("name", "Uraian"), ("budget", "Anggaran"),
           ("realised", "Realisasi"), ("remaining", "Lebih/(Kurang)"), ("percent", "%"))
TOTAL_NAMES = (("income", "Jumlah Pendapatan"), ("spending", "Jumlah Belanja"),
               ("surplus_deficit", "Surplus/(Defisit)"),
               ("financing_receipts", "Penerimaan Pembiayaan"),
               ("financing_expenditures", "Pengeluaran Pembiayaan"),
               ("net_financing", "Pembiayaan Netto"), ("silpa", "SiLPA/SiKPA"))
CONTENT_TYPES = {"csv": "text/csv",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "pdf": "application/pdf"}


def title(report: dict, semester: bool) -> str:
    period = "Semester Pertama" if semester else "Tahun Anggaran"
    return (f"Laporan Realisasi Pelaksanaan APB Desa {period} {report['year']} - "
            f"Desa {report['village_code']}")


def _table(report: dict) -> list[list]:
    rows = [[row[key] for key, _ in COLUMNS] for row in report["rows"]]
    budget, realised = report["totals"]["budget"], report["totals"]["realised"]
    for key, name in TOTAL_NAMES:
        remaining = budget[key] - realised[key]
        percent = round(realised[key] * 100 / budget[key], 2) if budget[key] else 0.0
        rows.append(["", name, budget[key], realised[key], remaining, percent])
    return rows


def to_csv(report: dict, semester: bool = False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for _, header in COLUMNS])
    writer.writerows(_table(report))
    # A byte-order mark so spreadsheet programs open the file as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode()


def to_xlsx(report: dict, semester: bool = False) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Realisasi"
    sheet.append([title(report, semester)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    sheet.append([header for _, header in COLUMNS])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in _table(report):
        sheet.append(row)
    for column, width in zip("ABCDEF", (12, 60, 18, 18, 18, 8), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rupiah(value: object) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


def to_pdf(report: dict, semester: bool = False) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=15 * mm,
                                 rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm,
                                 title=title(report, semester))
    cell = ParagraphStyle("cell", fontName="Helvetica", fontSize=8, leading=10)
    heading = ParagraphStyle("heading", fontName="Helvetica-Bold", fontSize=12, leading=15)
    data = [[header for _, header in COLUMNS]]
    for row in _table(report):
        data.append([row[0], Paragraph(str(row[1]).replace("&", "&amp;").replace("<", "&lt;"),
                                       cell),
                     *(_rupiah(value) for value in row[2:5]), f"{row[5]:.2f}"])
    table = Table(data, colWidths=[25 * mm, 120 * mm, 32 * mm, 32 * mm, 32 * mm, 16 * mm],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ("GRID", (0, 0), (-1, -1), 0.4, (0, 0, 0)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    document.build([Paragraph(title(report, semester), heading), Spacer(1, 6 * mm), table])
    return buffer.getvalue()


RENDERERS = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}

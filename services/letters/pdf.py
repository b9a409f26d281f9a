"""The letter as a PDF (reportlab): letterhead (kop surat), title, number, body, signature, QR."""
from __future__ import annotations

import io
from pathlib import Path

import segno
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import LayoutError

PAPER = {"A4": A4, "F4": (215 * mm, 330 * mm)}
# DejaVu Serif, shipped with the code (fonts/, its licence beside it) and embedded in every PDF:
# it has a glyph for every character the API accepts in printed text
# (services.common.fields.PRINTABLE_RANGES; ADR 0014). The PDF's standard Times has only
# Latin-1, so "Āmin" printed a black box.
FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT, BOLD, ITALIC = "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSerif-Italic"
for _name in (FONT, BOLD, ITALIC):
    pdfmetrics.registerFont(TTFont(_name, FONTS_DIR / f"{_name}.ttf"))
pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD)
MARGIN_X = 25 * mm
LETTERHEAD_HEIGHT = 40 * mm

STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=13, leading=16, alignment=TA_CENTER),
    "number": ParagraphStyle("number", fontName=FONT, fontSize=11.5, leading=14,
                             alignment=TA_CENTER),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=11.5, leading=15.5,
                           alignment=TA_JUSTIFY, firstLineIndent=10 * mm),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=11.5, leading=14.5),
    "sign": ParagraphStyle("sign", fontName=FONT, fontSize=11.5, leading=14.5,
                           alignment=TA_CENTER),
    "small": ParagraphStyle("small", fontName=ITALIC, fontSize=8, leading=9.5,
                            alignment=TA_CENTER),
}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class QrCode(Flowable):
    """The QR code drawn as vector squares: sharp at any zoom and when printed."""

    def __init__(self, data: str, size: float):
        super().__init__()
        self.qr = segno.make(data, error="m")
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        matrix = [list(row) for row in self.qr.matrix]
        count = len(matrix) + 8  # a quiet zone of four modules on each side
        module = self.size / count
        canvas = self.canv
        canvas.setFillColorRGB(0, 0, 0)
        for y, row in enumerate(matrix):
            for x, dark in enumerate(row):
                if dark:
                    canvas.rect((x + 4) * module, self.size - (y + 5) * module, module, module,
                                stroke=0, fill=1)


def _letterhead(village: dict, page_width: float, page_height: float):
    def draw(canvas, doc) -> None:
        canvas.saveState()
        centre = page_width / 2
        top = page_height - 15 * mm
        lines = [
            (BOLD, 14, f"PEMERINTAH {village['regency_name'].upper()}"),
            (BOLD, 14, f"KECAMATAN {village['district_name'].upper()}"),
            (BOLD, 17, f"{village['kind_title'].upper()} {village['name'].upper()}"),
        ]
        y = top
        for font, size, text in lines:
            canvas.setFont(font, size)
            canvas.drawCentredString(centre, y, text)
            y -= size + 3
        contact = village.get("office_address") or ""
        extras = [part for part in (village.get("phone") and f"Telp. {village['phone']}",
                                    village.get("email") and f"Email: {village['email']}") if part]
        if extras:
            contact = ", ".join([c for c in [contact, *extras] if c])
        canvas.setFont(ITALIC, 10)
        canvas.drawCentredString(centre, y - 1, contact)
        line_y = page_height - LETTERHEAD_HEIGHT + 2 * mm
        canvas.setLineWidth(2.2)
        canvas.line(MARGIN_X - 5 * mm, line_y, page_width - MARGIN_X + 5 * mm, line_y)
        canvas.setLineWidth(0.7)
        canvas.line(MARGIN_X - 5 * mm, line_y - 3, page_width - MARGIN_X + 5 * mm, line_y - 3)
        canvas.restoreState()

    return draw


def _table(rows: list[list[str]], width: float) -> Table:
    label_width = 48 * mm
    data = [[Paragraph(_escape(label), STYLES["cell"]), Paragraph(":", STYLES["cell"]),
             Paragraph(_escape(value), STYLES["cell"])] for label, value in rows]
    table = Table(data, colWidths=[label_width, 4 * mm, width - label_width - 14 * mm])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 0.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5),
    ]))
    table.hAlign = "RIGHT"
    return table


def _signature(content: dict, verification_url: str, width: float) -> Table:
    signer = content["signer"]
    right = [
        Paragraph(_escape(content["place_date"]), STYLES["sign"]),
        Paragraph(_escape(signer["title"]), STYLES["sign"]),
        Spacer(1, 20 * mm),
        Paragraph(f"<b><u>{_escape(signer['name'].upper())}</u></b>", STYLES["sign"]),
    ]
    left = [QrCode(verification_url, 30 * mm),
            Paragraph("Pindai kode QR untuk memeriksa keaslian surat ini", STYLES["small"])]
    table = Table([[left, right]], colWidths=[width * 0.45, width * 0.55])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                               ("ALIGN", (0, 0), (0, 0), "CENTER")]))
    return table


def render_letter(content: dict, verification_url: str) -> bytes:
    """Render the printed content (see app.printed_content) into PDF bytes."""
    page_width, page_height = PAPER.get(content.get("paper_size") or "A4", A4)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=(page_width, page_height), leftMargin=MARGIN_X, rightMargin=MARGIN_X,
        topMargin=LETTERHEAD_HEIGHT + 6 * mm, bottomMargin=18 * mm,
        title=f"{content['title']} {content['number']}",
        author=f"Pemerintah Desa {content['village']['name']}", creator="Desa Digital")
    width = page_width - 2 * MARGIN_X
    story: list = [
        Paragraph(f"<u>{_escape(content['title'])}</u>", STYLES["title"]),
        Paragraph(f"Nomor: {_escape(content['number'])}", STYLES["number"]),
        Spacer(1, 7 * mm),
    ]
    for block in content["blocks"]:
        if block["kind"] == "table":
            story.append(_table(block["rows"], width))
        else:
            story.append(Paragraph(_escape(block["text"]), STYLES["body"]))
        story.append(Spacer(1, 3 * mm))
    story.append(Spacer(1, 4 * mm))
    story.append(_signature(content, verification_url, width))
    draw = _letterhead(content["village"], page_width, page_height)
    try:
        doc.build(story, onFirstPage=draw, onLaterPages=draw)
    except LayoutError as exc:  # a block too long for one page: a template problem
        raise ValueError(f"letter does not fit the page: {exc}") from exc
    return buffer.getvalue()

"""Attachment sniffing, the rendered PDF and the Buku Agenda files."""
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from services.common.errors import ValidationFailed
from services.letters import domain, pdf, register
from services.letters.app import attachments
from tests.unit.letters.samples import JPEG_HEAD, PDF_HEAD, png_bytes, sample_content


@pytest.mark.parametrize(("data", "mime"), [
    (PDF_HEAD, "application/pdf"), (JPEG_HEAD, "image/jpeg"), (png_bytes(), "image/png")])
def test_accepted_types_are_sniffed_from_bytes(data, mime):
    assert attachments.sniff_attachment(data, len(data)) == mime


@pytest.mark.parametrize("data", [
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00", b"hello, this is text pretending to be a PDF",
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00", b"MZ\x90\x00\x03\x00\x00\x00"])
def test_other_types_are_refused(data):
    with pytest.raises(ValidationFailed) as err:
        attachments.sniff_attachment(data, len(data))
    assert "PDF, JPEG or PNG" in err.value.message


def test_size_limits():
    with pytest.raises(ValidationFailed):
        attachments.sniff_attachment(PDF_HEAD, domain.MAX_ATTACHMENT_BYTES + 1)
    with pytest.raises(ValidationFailed):
        attachments.sniff_attachment(b"", 0)
    assert attachments.sniff_attachment(PDF_HEAD, domain.MAX_ATTACHMENT_BYTES) == "application/pdf"


def test_rendered_letter_reads_like_a_village_letter():
    data = pdf.render_letter(sample_content(), "http://127.0.0.1:8000/api/v1/verify/abc")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for expected in ("PEMERINTAH KABUPATEN SERANG", "KECAMATAN KRAMATWATU", "DESA KRAMATWATU",
                     "SURAT KETERANGAN DOMISILI", "Nomor: 470/007/2001/I/2023", "Siti Aminah",
                     "Kramatwatu, 19 Januari 2023", "H. AHMAD FAUZI", "Kepala Desa Kramatwatu"):
        assert expected in text, expected
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)


def test_f4_paper():
    data = pdf.render_letter(sample_content("F4"), "http://x/api/v1/verify/abc")
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert round(float(page.mediabox[3]) / 72 * 25.4) == 330


ROWS = [{"no": 1, "number": "470/001/2001/I/2026", "date": "2026-01-05",
         "classification_code": "470", "addressee": "Siti Aminah",
         "subject": "Surat Keterangan Domisili: Melamar kerja"}]


def test_register_csv():
    text = register.register_csv(ROWS).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "No.,Nomor Surat,Tanggal,Kode Klasifikasi,Kepada / Nama Pemohon,Perihal"
    assert lines[1].startswith("1,470/001/2001/I/2026,2026-01-05,470,Siti Aminah,")


def test_register_xlsx():
    book = load_workbook(io.BytesIO(register.register_xlsx(ROWS, "Buku Agenda")))
    sheet = book["Buku Agenda"]
    assert sheet["B3"].value == "Nomor Surat"
    assert [c.value for c in sheet[4]] == [1, "470/001/2001/I/2026", "2026-01-05", "470",
                                           "Siti Aminah",
                                           "Surat Keterangan Domisili: Melamar kerja"]

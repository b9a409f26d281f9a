"""The letter font covers every character the API accepts in printed text (issue 7, item 17)."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFont

from services.common.printable import PRINTABLE_RANGES
from services.letters import pdf
from tests.unit.letters.samples import sample_content

ACCEPTED = [chr(code) for low, high in PRINTABLE_RANGES for code in range(low, high + 1)]


@pytest.mark.parametrize("face", [pdf.FONT, pdf.BOLD, pdf.ITALIC])
def test_every_accepted_character_has_a_glyph(face):
    cmap = TTFont(face, pdf.FONTS_DIR / f"{face}.ttf").face.charToGlyph
    missing = [f"U+{ord(char):04X}" for char in ACCEPTED if ord(char) not in cmap]
    assert missing == []
    assert len(ACCEPTED) > 800  # Latin with its accents, not just ASCII


def test_names_with_accents_print_as_written():
    content = sample_content()
    content["blocks"][1]["rows"][0][1] = "Ma'ruf Āmin Ñúñez"
    content["signer"]["name"] = "Hj. Ṡiti Ŵardah"
    data = pdf.render_letter(content, "http://127.0.0.1:8000/api/v1/verify/x")
    assert b"DejaVuSerif" in data and b"Times-Roman" not in data  # embedded, not a base font
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Ma'ruf Āmin Ñúñez" in text and "ṠITI ŴARDAH" in text


def test_every_accepted_character_renders_in_a_letter():
    content = sample_content()
    content["blocks"].append({"kind": "paragraph", "text": "".join(ACCEPTED), "rows": []})
    data = pdf.render_letter(content, "http://127.0.0.1:8000/api/v1/verify/x")
    assert data.startswith(b"%PDF")

"""What a letter can print: the characters the API accepts in text that letters print (ADR 0014).

Plain Python, shared by the schemas (services.common.fields) and the letters domain.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

# Every character the API accepts in text that letters print: Latin (ASCII, Latin-1, Latin
# Extended-A/B and Additional, so accented names print as written), common punctuation (dashes,
# curly quotes, bullet, ellipsis, per mille) and the euro sign. The letter font (DejaVu Serif,
# shipped in services/letters/fonts) has a glyph for each: tests/unit/letters/test_pdf_font.py
# checks every one. Other scripts and emoji are refused, naming the field, instead of printing
# as black boxes on a legal document.
PRINTABLE_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x24F), (0x1E00, 0x1EFB),
                    (0x2010, 0x2026), (0x2030, 0x2030), (0x20AC, 0x20AC))


# Per character, so cached: a 100,000-row import asks about the same few dozen letters millions
# of times.
@lru_cache(maxsize=4096)
def printable(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in PRINTABLE_RANGES)


def unprintable(text: str, multiline: bool = False) -> list[str]:
    """The distinct characters of `text` a letter cannot print, in order of appearance."""
    if text.isascii() and text.isprintable():  # all within 0x20-0x7E: the common case
        return []
    seen: list[str] = []
    for char in text:
        if not (printable(char) or (multiline and char in "\n\r\t")) and char not in seen:
            seen.append(char)
    return seen


def describe_chars(chars: list[str]) -> str:
    return ", ".join(f"{char!r} (U+{ord(char):04X})" for char in chars[:5])


@lru_cache(maxsize=4096)
def latin_letter(char: str) -> bool:
    """A letter of the Latin script that a letter can print (accented ones included)."""
    return unicodedata.category(char).startswith("L") and \
        unicodedata.name(char, "").startswith("LATIN ") and printable(char)

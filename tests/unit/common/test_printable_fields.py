"""Names as the population register writes them; text a letter can print (issue 7, item 17)."""
from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from services.common import fields


class Person(Schema):
    name = fields.person_name(120, required=True)
    purpose = fields.printed_text(300)
    body = fields.PrintedText(multiline=True, load_default=None)


@pytest.mark.parametrize(("given", "stored"), [
    ("Siti Aminah", "Siti Aminah"),
    ("Ma'ruf Amin", "Ma'ruf Amin"),
    ("Ma\u2019ruf  Amin ", "Ma'ruf Amin"),  # typographic apostrophe, doubled space
    ("H. Ahmad Fauzi, S.Pd.", "H. Ahmad Fauzi, S.Pd."),
    ("Siti Nur-Aini", "Siti Nur-Aini"),
    ("Ma'ruf Āmin Ñúñez", "Ma'ruf Āmin Ñúñez"),  # accented Latin kept as written (ADR 0014)
    ("Nu\u0303n\u0303ez", "Nũñez"),  # decomposed accents become composed (NFC)
])
def test_accepted_names(given, stored):
    assert Person().load({"name": given})["name"] == stored


@pytest.mark.parametrize(("given", "shown"), [
    ("Ma'ruf Āmin Ñúñez 😀 محمد", "'😀' (U+1F600)"),
    ("Budi_Santoso", "'_' (U+005F)"),
    ("Budi 2", "'2' (U+0032)"),
    ("Иван", "'И' (U+0418)"),
    ("...", "at least one letter"),
])
def test_refused_names_say_which_characters(given, shown):
    with pytest.raises(ValidationError) as err:
        Person().load({"name": given})
    assert list(err.value.messages) == ["name"]
    assert shown in err.value.messages["name"][0]


def test_printed_text_refuses_what_the_font_cannot_print_and_names_the_field():
    assert Person().load({"name": "Budi", "purpose": "Melamar kerja – PT Ōtsuka “Jaya” €"})[
        "purpose"] == "Melamar kerja – PT Ōtsuka “Jaya” €"
    with pytest.raises(ValidationError) as err:
        Person().load({"name": "Budi", "purpose": "Melamar kerja 😀"})
    assert list(err.value.messages) == ["purpose"]
    assert "'😀' (U+1F600)" in err.value.messages["purpose"][0]
    assert Person().load({"name": "Budi", "body": "Baris satu\n\nBaris dua"})["body"] == \
        "Baris satu\n\nBaris dua"
    with pytest.raises(ValidationError):
        Person().load({"name": "Budi", "purpose": "satu\ndua"})  # one line only

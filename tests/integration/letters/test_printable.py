"""What a letter prints can be printed (issue 7, item 17): the API refuses characters the
letter font lacks, naming the field, and accented names print as written."""
from __future__ import annotations

import io
import uuid

import pytest
from pypdf import PdfReader

from services.common.errors import Unprocessable, ValidationFailed
from services.letters import models

pytestmark = pytest.mark.integration


def test_an_accented_name_prints_as_written(world):
    code = world.village()["code"]
    resident = world.resident(code, name="Ma'ruf Āmin Ñúñez", birth_place="Tōkyō")
    letter = world.checked(code, resident["nik"])
    issued = world.sign_and_issue(code, letter["id"])
    row = world.session.get(models.Letter, uuid.UUID(issued["id"]))
    text = PdfReader(io.BytesIO(world.store.get_bytes(row.pdf_key))).pages[0].extract_text()
    assert "Ma'ruf Āmin Ñúñez" in text and "Tōkyō" in text


@pytest.mark.parametrize(("data", "field"), [
    ({"purpose": "Melamar kerja 😀"}, "purpose"),
    ({"type_code": "kehilangan", "purpose": "Laporan polisi", "fields": {
        "lost_item": "Dompet 👛", "lost_date": "2026-03-01", "lost_place": "Pasar",
        "circumstances": "Terjatuh"}}, "fields"),
])
def test_unprintable_free_text_is_refused_naming_the_field(world, data, field):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    with pytest.raises(ValidationFailed) as err:
        world.request(code, nik, **data)
    assert field in err.value.fields
    assert "U+1F" in str(err.value.fields[field])
    assert world.count(models.Letter.__table__, village_code=code) == 0


def test_a_register_name_from_before_the_check_is_refused_not_printed_as_boxes(world):
    """Residents registered before names were checked may still carry an emoji."""
    code = world.village()["code"]
    nik = world.resident(code, name="Ma'ruf Āmin Ñúñez 😀 محمد")["nik"]
    with pytest.raises(Unprocessable) as err:
        world.request(code, nik)
    assert list(err.value.fields) == ["subject.name"]
    assert "'😀' (U+1F600)" in err.value.fields["subject.name"][0]
    assert "correct it in the register" in err.value.message
    assert world.count(models.Letter.__table__, village_code=code) == 0

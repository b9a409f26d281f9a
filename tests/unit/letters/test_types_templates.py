"""Letter types, their field schemas and the templates."""
from datetime import date

import pytest
from marshmallow import ValidationError

from services.common.errors import NotFound
from services.letters import catalogue, domain, schemas


def test_the_ten_types_of_the_domain():
    codes = {t.type_code: t.classification_code for t in catalogue.TYPES.values()}
    assert codes == {
        "domisili": "470", "sktm": "401", "usaha": "503", "skck": "331", "kelahiran": "474.1",
        "kematian": "474.3", "pindah": "475", "pengantar": "470", "kehilangan": "470",
        "keramaian": "300"}


def test_birth_and_death_letters_are_made_by_the_office():
    may = {code for code, t in catalogue.TYPES.items() if t.resident_may_request}
    assert may == set(catalogue.TYPES) - {"kelahiran", "kematian"}


def test_unknown_type():
    with pytest.raises(NotFound):
        catalogue.get_type("nikah")


@pytest.mark.parametrize("letter_type", catalogue.TYPES.values(), ids=lambda t: t.type_code)
def test_default_templates_use_only_known_placeholders(letter_type):
    domain.check_template(letter_type.body, letter_type.placeholders)
    assert domain.template_placeholders(letter_type.body) <= letter_type.placeholders


def test_template_with_unknown_placeholder_or_stray_brace_is_refused():
    with pytest.raises(domain.InvalidTemplate) as err:
        domain.check_template("Nama: {name} {password}", {"name"})
    assert "password" in str(err.value.fields)
    with pytest.raises(domain.InvalidTemplate):
        domain.check_template("Nama: {name.__class__}", {"name"})
    with pytest.raises(domain.InvalidTemplate):
        domain.check_template("Nama: {name", {"name"})


def test_fill_and_blocks():
    text = "Yang bertanda tangan {signer_title}.\n\nNama : {name}\nNIK : {nik}\n\nUntuk {purpose}."
    filled = domain.fill_template(text, {"signer_title": "Kepala Desa", "name": "Siti Aminah",
                                         "nik": "3604054101909001", "purpose": None})
    blocks = domain.body_blocks(filled)
    assert [b.kind for b in blocks] == ["paragraph", "table", "paragraph"]
    assert blocks[1].rows == (("Nama", "Siti Aminah"), ("NIK", "3604054101909001"))
    assert blocks[2].text == "Untuk -."  # a missing value prints as a dash, not "None"


def test_business_fields():
    schema = schemas.BusinessFields()
    with pytest.raises(ValidationError) as err:
        schema.load({"business_name": "Warung Bu Siti"})
    assert set(err.value.messages) == {"business_type", "business_address", "since"}
    loaded = schema.load({"business_name": "Warung Bu Siti", "business_type": "Warung makan",
                          "business_address": "Kp. Babakan RT 001/RW 002", "since": 2019})
    assert loaded["since"] == 2019


def test_crowd_permit_fields():
    schema = schemas.CrowdPermitFields()
    with pytest.raises(ValidationError) as err:
        schema.load({"event_name": "Hajatan", "event_date": "2026-05-01", "event_time": "25:00",
                     "event_place": "Lapangan"})
    assert "event_time" in err.value.messages
    loaded = schema.load({"event_name": "Hajatan", "event_date": "2026-05-01",
                          "event_time": "19:30", "event_place": "Lapangan"})
    assert loaded["event_date"] == date(2026, 5, 1)


def test_moving_members_need_nik_form():
    with pytest.raises(ValidationError) as err:
        schemas.MovingFields().load({"destination_address": "Jl. Merdeka 1, Bandung",
                                     "reason": "pekerjaan",
                                     "members": [{"nik": "123", "name": "Anak"}]})
    assert "members" in err.value.messages


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        schemas.NoFields().load({"anything": 1})


def test_request_schema():
    loaded = schemas.LetterRequestSchema().load(
        {"type_code": "domisili", "purpose": "Melamar kerja", "fields": {}})
    assert loaded == {"type_code": "domisili", "purpose": "Melamar kerja", "fields": {},
                      "subject_nik": None}
    with pytest.raises(ValidationError) as err:
        schemas.LetterRequestSchema().load({"type_code": "domisili", "subject_nik": "12"})
    assert "subject_nik" in err.value.messages

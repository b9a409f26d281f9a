"""The letter workflow against real PostgreSQL and SeaweedFS, at the application level."""
from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from services.common import clock, tables
from services.common.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed
from services.letters import domain, models, tokens
from services.letters.app import (
    issuing,
    letter_types,
    letters,
    numbering,
    office,
    requests,
    verification,
)
from tests.integration.letters.conftest import OUTBOX, actor

pytestmark = pytest.mark.integration


def test_request_check_sign_issue_download(world):
    village = world.village()
    code = village["code"]
    resident = world.resident(code)
    nik = resident["nik"]
    letter = world.do(requests.request_letter, OUTBOX,
                      {"type_code": "domisili", "purpose": "Persyaratan melamar kerja"},
                      code, actor("resident", code, nik))
    assert letter["status"] == "submitted" and letter["number"] is None
    assert letter["subject_nik"] == nik and letter["village_code"] == code
    assert letter["missing_documents"] == ["ktp", "kk", "cover_letter"]

    checked = world.do(requests.change_status, OUTBOX, letter["id"], "check", code,
                       actor("officer", code))
    assert checked["status"] == "checked"
    signed = world.do(numbering.sign_letter, OUTBOX, letter["id"], code, actor("head", code))
    assert signed["status"] == "signed"
    number = signed["number"]
    month = domain.roman_month(clock.local_date(
        datetime.fromisoformat(signed["signed_at"])).month)
    assert number.startswith("470/001/" + code.rsplit(".", 1)[1] + f"/{month}/")

    issued = world.do(issuing.issue_letter, OUTBOX, world.store, world.key, letter["id"])
    assert issued["status"] == "issued"
    assert issued["verification_url"].endswith(
        "/api/v1/verify/" + world.session.get(models.Letter, uuid.UUID(
            letter["id"])).verification_token)
    assert issued["template_version_id"]
    assert issued["valid_until"]

    location = world.do(issuing.open_pdf, OUTBOX, letter["id"], code, actor("resident", code, nik))
    data = world.store.get_bytes(location["key"])
    assert location["key"].startswith(f"{code}/letters/pdf/")
    assert hashlib.sha256(data).hexdigest() == location["sha256"] == issued["pdf"]["sha256"]
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert number in text and "Siti Aminah" in text and "SUKAMAJU" in text
    assert world.do(letters.get_letter, letter["id"], code, actor("resident", code, nik))[
        "status"] == "downloaded"

    transitions = world.do(letters.transitions_of, letter["id"], code, actor("officer", code))
    assert [(t["from"], t["to"]) for t in transitions] == [
        (None, "submitted"), ("submitted", "checked"), ("checked", "signed"),
        ("signed", "issued"), ("issued", "downloaded")]
    assert transitions[1]["actor"]["role"] == "officer"
    assert transitions[2]["actor"]["role"] == "head"
    assert all(t["at"] for t in transitions)
    assert world.events(letter["id"]) == [
        "letter.requested", "letter.checked", "letter.signed", "letter.issued",
        "letter.downloaded"]


def test_token_verifies_and_tampering_fails(world):
    code = world.village()["code"]
    resident = world.resident(code, name="Sutrisno Ahmadi", sex="L")
    letter = world.checked(code, resident["nik"])
    world.sign_and_issue(code, letter["id"])
    row = world.session.get(models.Letter, uuid.UUID(letter["id"]))
    result = verification.verify_token(world.session, world.key.public_key(),
                                       row.verification_token)
    assert result["valid"] is True
    assert result["number"] == row.number and result["village"] == code
    assert result["holder_name"] == "S******* A*****"
    assert result["nik"] == resident["nik"][:4] + "********" + resident["nik"][-4:]
    assert result["type"] == "domisili" and result["issued_at"] and result["valid_until"]

    token = row.verification_token
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert verification.verify_token(world.session, world.key.public_key(),
                                     tampered) == {"valid": False}
    other_key = tokens.load_signing_key(tokens.new_signing_key())
    assert verification.verify_token(world.session, other_key.public_key(),
                                     token) == {"valid": False}

    # An edited row (someone changes the printed name in the database) no longer verifies.
    world.session.execute(sa.update(models.Letter).where(models.Letter.id == row.id).values(
        content=sa.func.jsonb_set(models.Letter.content, "{holder,name}", '"Orang Lain"')))
    world.session.commit()
    assert verification.verify_token(world.session, world.key.public_key(),
                                     token) == {"valid": False}


def test_pdf_upload_verification(world):
    code = world.village()["code"]
    letter = world.checked(code, world.resident(code)["nik"])
    issued = world.sign_and_issue(code, letter["id"])
    row = world.session.get(models.Letter, uuid.UUID(letter["id"]))
    data = world.store.get_bytes(row.pdf_key)
    assert verification.verify_pdf(world.session,
                                   hashlib.sha256(data).hexdigest())["number"] == issued[
        "number"]
    altered = bytearray(data)
    altered[len(data) // 2] ^= 0x01  # one bit changed somewhere in the content
    assert verification.verify_pdf(world.session,
                                   hashlib.sha256(altered).hexdigest()) == {"valid": False}
    assert verification.verify_pdf(world.session, "not-a-hash") == {"valid": False}


def test_per_type_and_village_series(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    numbers = []
    for type_code in ("domisili", "sktm", "domisili"):
        extra = {"fields": {"need": "sekolah"}} if type_code == "sktm" else {}
        letter = world.request(code, nik, type_code, **extra)
        world.do(requests.change_status, OUTBOX, letter["id"], "check", code, actor("officer",
                                                                                    code))
        numbers.append(world.do(numbering.sign_letter, OUTBOX, letter["id"], code,
                                actor("head", code))["number"])
    assert [n.split("/")[:2] for n in numbers] == [["470", "001"], ["401", "001"],
                                                   ["470", "002"]]

    village_wide = world.village(letter_number_scope="village",
                                 letter_number_format="{seq:04d}/{code}/DS/{year}")["code"]
    nik = world.resident(village_wide)["nik"]
    numbers = []
    for type_code in ("domisili", "skck", "pengantar"):
        letter = world.checked(village_wide, nik, type_code)
        numbers.append(world.do(numbering.sign_letter, OUTBOX, letter["id"], village_wide,
                                actor("head", village_wide))["number"])
    assert [n.split("/")[:2] for n in numbers] == [["0001", "470"], ["0002", "331"],
                                                   ["0003", "470"]]


def test_roles_and_states(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    letter = world.request(code, nik)
    with pytest.raises(Forbidden):
        world.do(requests.change_status, OUTBOX, letter["id"], "check", code,
                 actor("resident", code, nik))
    with pytest.raises(Conflict):  # not checked yet
        world.do(numbering.sign_letter, OUTBOX, letter["id"], code, actor("head", code))
    world.do(requests.change_status, OUTBOX, letter["id"], "check", code, actor("officer", code))
    with pytest.raises(Forbidden):  # only the head signs
        world.do(numbering.sign_letter, OUTBOX, letter["id"], code, actor("officer", code))
    rejected = world.do(requests.change_status, OUTBOX, letter["id"], "reject", code,
                        actor("head", code), reason="Berkas KK tidak terbaca")
    assert rejected["status"] == "rejected" and rejected["reason"] == "Berkas KK tidak terbaca"
    with pytest.raises(Conflict):
        world.do(requests.change_status, OUTBOX, letter["id"], "cancel", code,
                 actor("resident", code, nik), reason="tidak jadi")

    other = world.request(code, nik)
    cancelled = world.do(requests.change_status, OUTBOX, other["id"], "cancel", code,
                         actor("resident", code, nik), reason="Sudah tidak diperlukan")
    assert cancelled["status"] == "cancelled"
    assert world.events(other["id"]) == ["letter.requested", "letter.cancelled"]


def test_tenancy(world):
    code_a, code_b = world.village()["code"], world.village()["code"]
    nik_a = world.resident(code_a)["nik"]
    nik_b = world.resident(code_b)["nik"]
    letter = world.request(code_a, nik_a)
    with pytest.raises(NotFound):  # officer of B cannot see A's letter
        world.do(letters.get_letter, letter["id"], code_b, actor("officer", code_b))
    with pytest.raises(NotFound):
        world.do(requests.change_status, OUTBOX, letter["id"], "check", code_b,
                 actor("officer", code_b))
    with pytest.raises(NotFound):  # officer of B cannot request for A's resident
        world.request(code_b, nik_a)
    with pytest.raises(NotFound):  # another resident of the same village sees nothing
        world.do(letters.get_letter, letter["id"], code_a,
                 actor("resident", code_a, "3604050000009999"))
    with pytest.raises(NotFound):
        world.do(letters.list_village_letters, code_a, None, 1, 20, code_b)
    with pytest.raises(NotFound):  # nor the letter types and wording A configured
        world.do(letter_types.list_letter_types, code_a, code_b)
    with pytest.raises(NotFound):
        world.do(letters.list_resident_letters, nik_a, code_a, actor("resident", code_a, nik_b))
    assert world.do(letters.get_letter, letter["id"], None, actor("regency_admin"))["id"] == letter[
        "id"]
    assert world.do(letters.list_resident_letters, nik_a, code_a,
                    actor("resident", code_a, nik_a))["total"] == 1


def test_residents_ask_only_for_themselves_and_only_allowed_types(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    other = world.resident(code)["nik"]
    with pytest.raises(Forbidden):
        world.do(requests.request_letter, OUTBOX, {"type_code": "domisili", "subject_nik": other,
                                              "purpose": "Melamar kerja"},
                 code, actor("resident", code, nik))
    with pytest.raises(Forbidden):
        world.do(requests.request_letter, OUTBOX, {"type_code": "kelahiran", "fields": {}},
                 code, actor("resident", code, nik))
    assert world.count(models.Letter.__table__, subject_nik=other) == 0


@pytest.mark.parametrize("status", ["dead", "moved_out"])
def test_dead_or_moved_out_cannot_request(world, status):
    code = world.village()["code"]
    resident = world.resident(code, status=status)
    with pytest.raises(Unprocessable) as err:
        world.do(requests.request_letter, OUTBOX, {"type_code": "domisili",
                                                   "purpose": "Melamar kerja"},
                 code, actor("resident", code, resident["nik"]))
    assert "no longer be requested" in err.value.message
    assert world.count(models.Letter.__table__, subject_nik=resident["nik"]) == 0


def test_death_letter_by_the_office(world):
    code = world.village()["code"]
    deceased = world.resident(code, status="dead", name="Mahmud Sanusi", sex="L")
    letter = world.request(code, deceased["nik"], "kematian", purpose=None, fields={
        "death_date": "2026-03-02", "death_time": "04:30", "death_place": "Rumah",
        "cause": "Sakit", "reporter_name": "Siti Aminah", "reporter_relation": "Istri"})
    world.do(requests.change_status, OUTBOX, letter["id"], "check", code, actor("officer", code))
    issued = world.sign_and_issue(code, letter["id"])
    assert issued["number"].startswith("474.3/001/")
    assert issued["valid_until"] is None
    row = world.session.get(models.Letter, uuid.UUID(letter["id"]))
    text = PdfReader(io.BytesIO(world.store.get_bytes(row.pdf_key))).pages[0].extract_text()
    assert "2 Maret 2026" in text and "Mahmud Sanusi" in text


BAD_REQUESTS = [
    ({"purpose": "Melamar kerja"}, ValidationFailed, "type_code"),
    ({"type_code": "nikah", "purpose": "x" * 5}, NotFound, "type_code"),
    ({"type_code": "domisili"}, ValidationFailed, "purpose"),
    ({"type_code": "usaha", "purpose": "Pinjaman bank", "fields": {"business_name": "Warung"}},
     ValidationFailed, "fields"),
    ({"type_code": "domisili", "purpose": "Melamar kerja", "fields": {"unknown": 1}},
     ValidationFailed, "fields"),
    ({"type_code": "domisili", "purpose": "Melamar kerja", "subject_nik": "3604059999999999"},
     NotFound, "subject_nik"),
]


@pytest.mark.parametrize(("body", "error", "field"), BAD_REQUESTS)
def test_bad_requests_change_nothing(world, body, error, field):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    body = {"subject_nik": nik, **body}
    letters_before = world.count(models.Letter.__table__)
    events_before = world.count(tables.outbox)
    with pytest.raises(error) as err:
        world.do(requests.request_letter, OUTBOX, body, code, actor("officer", code))
    assert field in err.value.fields
    assert world.count(models.Letter.__table__) == letters_before
    assert world.count(tables.outbox) == events_before


def test_switched_off_type_and_template_versions(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    officer = actor("officer", code)
    world.do(letter_types.configure_letter_type, OUTBOX, code, "skck", {"enabled": False}, code,
             officer)
    with pytest.raises(Unprocessable):
        world.request(code, nik, "skck")
    types = {t["type_code"]: t for t in world.do(letter_types.list_letter_types, code)}
    assert types["skck"]["enabled"] is False and types["domisili"]["enabled"] is True

    first = world.checked(code, nik)
    world.sign_and_issue(code, first["id"])
    default = world.session.get(models.Letter, uuid.UUID(first["id"]))
    body = types["domisili"]["template"]["body"].replace(
        "Demikian surat keterangan", "Demikian surat keterangan domisili")
    changed = world.do(letter_types.configure_letter_type, OUTBOX, code, "domisili", {"body": body},
                       code, officer)
    assert changed["template"]["version"] == 2
    second = world.checked(code, nik)
    world.sign_and_issue(code, second["id"])
    edited = world.session.get(models.Letter, uuid.UUID(second["id"]))
    assert edited.template_version_id != default.template_version_id
    versions = {v.id: v.version for v in world.session.scalars(sa.select(models.TemplateVersion)
                .where(models.TemplateVersion.village_code == code))}
    assert versions[default.template_version_id] == 1
    assert versions[edited.template_version_id] == 2
    new_text = PdfReader(io.BytesIO(world.store.get_bytes(edited.pdf_key))).pages[0].extract_text()
    old_text = PdfReader(io.BytesIO(world.store.get_bytes(default.pdf_key))).pages[0].extract_text()
    assert "surat keterangan domisili ini" in new_text.replace("\n", " ")
    assert "surat keterangan domisili ini" not in old_text.replace("\n", " ")

    with pytest.raises(ValidationFailed):
        world.do(letter_types.configure_letter_type, OUTBOX, code, "domisili",
                 {"body": "Nama {name} sandi {password}"}, code, officer)
    assert world.do(letter_types.list_letter_types, code)[0]["template"]["version"] == 2


def test_queue_register_and_counts(world):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    ids = [world.request(code, nik)["id"] for _ in range(3)]
    world.do(requests.change_status, OUTBOX, ids[1], "check", code, actor("officer", code))
    queue = world.do(letters.list_village_letters, code, "submitted", 1, 20, code)
    assert [item["id"] for item in queue["items"]] == [ids[0], ids[2]]  # oldest first
    assert queue["total"] == 2 and queue["page"] == 1 and queue["per_page"] == 20
    page2 = world.do(letters.list_village_letters, code, None, 2, 2, code)
    assert page2["total"] == 3 and [i["id"] for i in page2["items"]] == [ids[2]]

    issued = world.sign_and_issue(code, ids[1])
    today = clock.local_date(datetime.now(UTC))
    rows = world.do(office.letter_register, code, today.isoformat(), today.isoformat(), code)
    assert rows == [{"no": 1, "number": issued["number"], "date": today.isoformat(),
                     "classification_code": "470", "addressee": "Siti Aminah",
                     "subject": "Surat Keterangan Domisili: Persyaratan kerja",
                     "status": "issued"}]
    with pytest.raises(ValidationFailed):
        world.do(office.letter_register, code, "2026-02-01", "2026-01-01", code)

    counts = world.do(office.letter_counts, today.year, None, code)
    assert counts == [{"village_code": code, "month": f"{today:%Y-%m}", "requested": 3,
                       "issued": 1}]


class BrokenStore:
    """Object storage that is down: every write fails."""

    def put_bytes(self, key, data, content_type):
        raise ConnectionError("object storage unreachable")


def test_pdf_step_failing_keeps_the_signing_and_is_retried(world):
    code = world.village()["code"]
    letter = world.checked(code, world.resident(code)["nik"])
    signed = world.do(numbering.sign_letter, OUTBOX, letter["id"], code, actor("head", code))
    with pytest.raises(ConnectionError):
        world.do(issuing.issue_letter, OUTBOX, BrokenStore(), world.key, letter["id"])
    row = world.session.get(models.Letter, uuid.UUID(letter["id"]))
    world.session.refresh(row)
    assert row.status == "signed" and row.number == signed["number"] and row.pdf_key is None
    assert letter["id"] in issuing.signed_not_issued(world.session, timedelta(seconds=0),
                                                     limit=1000)
    issued = world.do(issuing.issue_letter, OUTBOX, world.store, world.key, letter["id"])
    assert issued["status"] == "issued" and issued["number"] == signed["number"]
    assert world.do(issuing.issue_letter, OUTBOX, world.store, world.key, letter["id"]) is None

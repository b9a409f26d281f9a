"""Attachments: type sniffed from the bytes, size limit, stored in SeaweedFS with SHA-256."""
from __future__ import annotations

import hashlib

import pytest

from services.common import tables
from services.common.errors import Conflict, NotFound, ValidationFailed
from services.letters import domain
from services.letters.app import attachments, letters, requests
from tests.integration.letters.conftest import OUTBOX, actor
from tests.unit.letters.samples import JPEG_HEAD, PDF_HEAD, png_bytes

pytestmark = pytest.mark.integration


def upload(world, letter_id, code, data, kind="ktp", who=None):
    who = who or actor("officer", code)
    key = world.do(attachments.attachment_key, letter_id, code, who)["key"]
    world.store.put_bytes(key, data, "application/octet-stream")  # the client's header is ignored
    return key, lambda: world.do(attachments.record_attachment, OUTBOX, world.store, letter_id,
                                 {"key": key, "kind": kind, "filename": "scan.bin"}, code, who)


@pytest.mark.parametrize(("data", "mime"), [
    (PDF_HEAD + b"0" * 5000, "application/pdf"), (JPEG_HEAD + b"\x00" * 100, "image/jpeg"),
    (png_bytes(), "image/png")])
def test_accepted_files(world, data, mime):
    code = world.village()["code"]
    nik = world.resident(code)["nik"]
    letter = world.request(code, nik)
    key, record = upload(world, letter["id"], code, data, who=actor("resident", code, nik))
    result = record()
    assert key.startswith(f"{code}/letters/attachments/")
    [attachment] = result["attachments"]
    assert attachment["content_type"] == mime and attachment["size"] == len(data)
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["missing_documents"] == ["kk", "cover_letter"]
    assert world.store.get_bytes(key) == data
    assert world.events(letter["id"])[-1] == "letter.attachment_added"
    listed = world.do(letters.list_village_letters, code, None, 1, 20, code)
    assert [item["attachments"] for item in listed["items"]] == [result["attachments"]]


@pytest.mark.parametrize("data", [
    b"GIF89a" + b"\x00" * 100,                         # an image type we do not take
    b"<html><script>alert(1)</script></html>",         # text claiming to be anything
    PDF_HEAD + b"0" * domain.MAX_ATTACHMENT_BYTES,     # a PDF over the limit
    b"",
])
def test_refused_files_leave_nothing(world, data):
    code = world.village()["code"]
    letter = world.request(code, world.resident(code)["nik"])
    key, record = upload(world, letter["id"], code, data)
    events_before = world.count(tables.outbox)
    with pytest.raises(ValidationFailed):
        record()
    assert world.do(letters.get_letter, letter["id"], code, actor("officer", code))[
        "attachments"] == []
    assert world.count(tables.outbox) == events_before
    assert not world.store.exists(key)  # the refused object was removed again


def test_keys_of_other_villages_and_late_uploads_are_refused(world):
    code, other = world.village()["code"], world.village()["code"]
    letter = world.request(code, world.resident(code)["nik"])
    foreign_key = f"{other}/letters/attachments/x"
    with pytest.raises(ValidationFailed):
        world.do(attachments.record_attachment, OUTBOX, world.store, letter["id"],
                 {"key": foreign_key, "kind": "kk"}, code, actor("officer", code))
    with pytest.raises(NotFound):
        world.do(attachments.attachment_key, letter["id"], other, actor("officer", other))
    world.do(requests.change_status, OUTBOX, letter["id"], "check", code, actor("officer", code))
    world.sign_and_issue(code, letter["id"])
    with pytest.raises(Conflict):
        world.do(attachments.attachment_key, letter["id"], code, actor("officer", code))

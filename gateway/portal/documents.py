"""Files through the portal: uploads checked before they are stored, downloads streamed."""
from __future__ import annotations

from flask import Response
from werkzeug.datastructures import FileStorage

from gateway.documents import download, store
from services.common.errors import ValidationFailed
from services.common.sniffing import sniff_document
from services.letters.domain import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES


def read_attachment(upload: FileStorage, field: str) -> tuple[bytes, str]:
    """The bytes and sniffed type of a photo or scan; a field error if it is not one."""
    data = upload.stream.read(MAX_ATTACHMENT_BYTES + 1)
    try:
        content_type = sniff_document(data, len(data), ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES)
    except ValidationFailed:
        raise ValidationFailed("Berkas tidak dapat diterima.", fields={field: [
            "Harus foto JPEG/PNG atau PDF, paling besar 5 MB."]}) from None
    return data, content_type


def attach(letters, letter_id: str, kind: str, upload: tuple[bytes, str, str | None],
           scope: str | None, actor: dict) -> dict:
    """Store one checked upload where the letters service says and attach it to the letter."""
    data, content_type, filename = upload
    target = letters.attachment_key(letter_id, scope, actor)
    store().put_bytes(target["key"], data, content_type)
    return letters.record_attachment(letter_id, {"key": target["key"], "kind": kind,
                                                 "filename": filename}, scope, actor)


def stream(location: dict, content_type: str, disposition: str = "attachment") -> Response:
    return download(location, content_type=content_type, disposition=disposition,
                    headers={"Cache-Control": "private, no-store"})

"""gateway.documents.download: the one way every route streams a stored document."""
from __future__ import annotations

from flask import Flask

from gateway import documents


class MemoryObjects:
    """Object storage reduced to what download() calls: stream(key, chunk) -> chunks."""

    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects
        self.opened: list[str] = []

    def stream(self, key: str, chunk: int):
        data = self.objects[key]  # opened before the response starts, as the real client
        self.opened.append(key)
        return iter([data[i:i + chunk] for i in range(0, len(data), chunk)])


def app_with(objects: dict[str, bytes]) -> Flask:
    app = Flask(__name__)
    app.extensions["desa"] = {"documents": MemoryObjects(objects)}
    return app


def test_a_download_names_a_safe_file_and_carries_its_digest():
    body = b"%PDF-1.7 " + b"x" * 100_000
    app = app_with({"k": body})
    with app.test_request_context():
        response = documents.download({"key": "k", "content_type": "application/pdf",
                                       "size": len(body), "sha256": "ab" * 32,
                                       "filename": 'surat"; x=\r\n.pdf'})
        assert b"".join(response.response) == body
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["X-Content-SHA256"] == "ab" * 32
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == 'attachment; filename="surat_x_.pdf"'


def test_a_photo_shown_inline_has_no_disposition_and_keeps_its_own_headers():
    app = app_with({"p": b"\xff\xd8jpeg"})
    with app.test_request_context():
        response = documents.download({"key": "p", "content_type": "image/jpeg"},
                                      disposition=None, headers={"ETag": '"e"'})
    assert "Content-Disposition" not in response.headers
    assert "Content-Length" not in response.headers  # not known: not invented
    assert response.headers["ETag"] == '"e"'


def test_a_file_name_of_only_unsafe_characters_still_gets_a_name():
    app = app_with({"k": b"x"})
    with app.test_request_context():
        response = documents.download({"key": "k", "content_type": "image/png", "size": 1,
                                       "filename": "../../"}, disposition="inline")
    assert response.headers["Content-Disposition"] == 'inline; filename="dokumen"'

"""Stored documents through the gateway: one object store client per app, and downloads.

Every download (a letter's PDF, an attachment, a payment's evidence, a village photo) is streamed
from object storage by `download`: the object is opened before the response starts, so storage
that is down answers 503 before any byte is sent, and the file name (the uploader's) is reduced
to safe characters before it reaches a header.
"""
from __future__ import annotations

from flask import Response, current_app, stream_with_context
from werkzeug.utils import secure_filename

from services.common.objectstore import ObjectStoreClient, documents_store

CHUNK = 64 * 1024


def store() -> ObjectStoreClient:
    """The gateway app's one object store client (the minio client is thread-safe)."""
    extensions = current_app.extensions["desa"]
    if "documents" not in extensions:
        extensions["documents"] = documents_store(extensions["settings"])
    return extensions["documents"]


def download(location: dict, *, content_type: str | None = None,
             disposition: str | None = "attachment", headers: dict | None = None) -> Response:
    """Stream the object a service located: `location` has `key` and, as the service knows
    them, `content_type`, `size`, `filename` and `sha256`. `disposition=None` sends no
    Content-Disposition (an image shown in a page)."""
    chunks = store().stream(location["key"], CHUNK)
    sent = {"X-Content-Type-Options": "nosniff"}
    if location.get("size") is not None:
        sent["Content-Length"] = str(location["size"])
    if location.get("sha256"):
        sent["X-Content-SHA256"] = location["sha256"]
    if disposition:
        filename = secure_filename(location.get("filename") or "") or "dokumen"
        sent["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    sent.update(headers or {})
    return Response(stream_with_context(chunks),
                    mimetype=content_type or location["content_type"], headers=sent)

"""Failures as pages: a form's refusal is shown by its own view; these are the rest."""
from __future__ import annotations

import logging

from flask import redirect, request, url_for
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException

from gateway.portal import blueprint, web
from services.common.errors import DesaError, Unauthenticated

log = logging.getLogger(__name__)

TITLES = {400: "Permintaan tidak valid", 403: "Tidak diizinkan", 404: "Tidak ditemukan",
          409: "Tidak dapat dilakukan sekarang", 413: "Berkas terlalu besar",
          422: "Tidak dapat diproses", 429: "Terlalu banyak percobaan",
          503: "Layanan sedang tidak tersedia"}
MESSAGES = {403: "Peran Anda tidak boleh membuka halaman ini.",
            404: "Halaman atau data yang dicari tidak ada.",
            503: "Layanan sedang sibuk atau mati. Coba lagi beberapa saat lagi."}


def error_page(status: int, detail: str | None = None):
    return web.page("error.html", code=status, title=TITLES.get(status, "Terjadi kesalahan"),
                    message=MESSAGES.get(status) or detail or "Terjadi kesalahan.",
                    detail=detail if status not in MESSAGES else None)


@blueprint.errorhandler(DesaError)
def _service_error(error: DesaError):
    if isinstance(error, Unauthenticated):
        return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
    return error_page(error.http_status, error.message)


@blueprint.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return error_page(error.code or 500, error.description)


@blueprint.errorhandler(RemoteError)
def _remote_error(error: RemoteError):
    log.error("remote service error", extra={"exc_type": error.exc_type})
    return error_page(500, "Terjadi kesalahan di server.")


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("unhandled error in a portal page")
    return error_page(500, "Terjadi kesalahan di server.")

"""The web portal: village websites, residents' pages, the office console, the regency view.

Server-rendered HTML in Indonesian for a cheap phone on a slow line, served by the gateway
beside the API (`register(app)`); no page needs JavaScript.
"""
from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, url_for

from gateway.portal import web

STATIC_MAX_AGE = 7 * 24 * 3600


class _Portal(Blueprint):
    def get_send_file_max_age(self, filename: str | None) -> int:
        # The stylesheet is tiny and changes only with a release: let phones keep it a week.
        return STATIC_MAX_AGE


blueprint = _Portal("portal", __name__, template_folder="templates", static_folder="static",
                    static_url_path="/static/portal")


@blueprint.before_request
def _before() -> None:
    web.load_actor()
    web.check_csrf()


@blueprint.app_context_processor
def _globals() -> dict:
    return web.template_globals()


def _qr_opens_the_page():
    """The QR code on a letter holds the API's verify URL: a browser gets the HTML page."""
    if (request.method == "GET" and request.path.startswith("/api/v1/verify/")
            and request.accept_mimetypes.best_match(["application/json", "text/html"])
            == "text/html"):
        token = request.path.removeprefix("/api/v1/verify/")
        return redirect(url_for("portal.verify", token=token), 303)
    return None


def register(app: Flask) -> None:
    """Mount the portal on the gateway app (its pages are not part of the OpenAPI document)."""
    from gateway.portal import (  # noqa: F401 (routes)
        accounts,
        errors,
        office,
        office_potential,
        potential,
        public,
        regency,
        resident,
    )

    app.jinja_env.filters.update(web.FILTERS)
    app.jinja_env.globals["csrf_token"] = web.csrf_token  # imported macros see it too
    app.before_request(_qr_opens_the_page)
    app.register_blueprint(blueprint)

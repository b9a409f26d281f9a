"""The public catalogue, no login: each village's profile, posts, albums, businesses, tourism
sites and organisations, search across all villages, and photos with caching headers.

Only what is published is public: drafts, and photos of drafts, answer 404 to the public.
No public answer carries a NIK or an owner's personal data (the public schemas have no field
for them). A photo answers with its SHA-256 as ETag, so a cache revalidates with a 304.
"""
from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from gateway import documents
from gateway.auth import bearer_token, current_actor, public
from gateway.http import respond
from gateway.routes.potential import _args
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from services.common import roles
from services.potential import schemas

blp = Blueprint("potential-public", __name__, url_prefix="/api/v1",
                description="The public village catalogue: profiles, news, businesses, "
                            "tourism and organisations, and search across all villages.")

PUBLIC_MAX_AGE = 300  # seconds a shared cache may keep a public photo before revalidating
LISTS = {"businesses": schemas.PublicBusinessPage, "tourism-sites": schemas.PublicTourismSitePage,
         "organisations": schemas.PublicOrganisationPage, "posts": schemas.PublicPostPage,
         "albums": schemas.PublicAlbumPage}
LIST_ARGS = {"businesses": schemas.BusinessListArgs,
             "tourism-sites": schemas.TourismSiteListArgs,
             "organisations": schemas.OrganisationListArgs, "posts": schemas.PostListArgs,
             "albums": schemas.PostListArgs}


@blp.route("/public/villages/<code>/profile", methods=["GET"])
@public
@blp.response(200, schemas.Profile)
@blp.alt_response(404, schema=ErrorSchema)
def public_profile(code: str):
    """The Profil Desa the village website shows."""
    return respond(services().potential.public_profile(code))


def _public_list(what: str, code: str):
    return respond(services().potential.public_list(what.replace("-", "_"), code,
                                                    _args(LIST_ARGS[what])))


def _register_list(what: str) -> None:
    def view(query: dict, code: str):
        return _public_list(what, code)

    view.__name__ = f"public_{what.replace('-', '_')}"
    view.__doc__ = f"The village's public {what.replace('-', ' ')} (published only, no NIK)."
    view = blp.response(200, LISTS[what])(view)
    view = blp.arguments(LIST_ARGS[what], location="query", error_status_code=400)(view)
    view = public(view)
    blp.route(f"/public/villages/<code>/{what}", methods=["GET"])(view)


for _what in LISTS:
    _register_list(_what)


@blp.route("/public/search", methods=["GET"])
@public
@blp.arguments(schemas.SearchArgs, location="query", error_status_code=400)
@blp.response(200, schemas.SearchPage)
def public_search(query: dict):
    """Businesses, tourism sites and organisations of every village: `q` matches any part of
    a word of the name or description; filter by type, sector and district."""
    return respond(services().potential.search(_args(schemas.SearchArgs)))


def _viewer() -> tuple[str | None, bool]:
    """(scope, staff): staff of a village see its unpublished photos; everyone else is public."""
    if bearer_token() is None:
        return None, False
    actor = current_actor()  # a bad token is a 401, not a silent downgrade
    if actor.role not in roles.POTENTIAL_READERS:
        return None, False
    return (None if actor.role == roles.REGENCY_ADMIN else actor.village_code), True


def _serve(photo_id: str, variant: str) -> Response:
    scope, staff = _viewer()
    found = services().potential.photo_file(photo_id, variant, scope, staff)
    etag = found["etag"]
    cache = f"public, max-age={PUBLIC_MAX_AGE}" if found["public"] else "private, no-cache"
    headers = {"ETag": f'"{etag}"', "Cache-Control": cache}
    if not found["public"]:
        headers["Vary"] = "Authorization"
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return documents.download(found, disposition=None, headers=headers)


@blp.route("/photos/<photo_id>", methods=["GET"])
@public
@blp.response(200, description="The photo.", content_type="image/jpeg")
@blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
@blp.alt_response(404, schema=ErrorSchema)
def get_photo(photo_id: str):
    """A photo: anyone may fetch a published one; staff of its village also an unpublished one."""
    return _serve(photo_id, "original")


@blp.route("/photos/<photo_id>/thumbnail", methods=["GET"])
@public
@blp.response(200, description="A JPEG at most 320 px a side.", content_type="image/jpeg")
@blp.alt_response(304, description="Not modified (If-None-Match matched the ETag).")
@blp.alt_response(404, schema=ErrorSchema)
def get_photo_thumbnail(photo_id: str):
    return _serve(photo_id, "thumbnail")




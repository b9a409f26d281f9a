"""Village potential for the village office and the regency: businesses (UMKM), organisations,
tourism sites, resources, the profile, posts, albums, photos, follow-ups and regency counts.

Officers, secretaries and heads write in their own village; the regency admin reads every
village. Photos never travel over RPC: the service authorises and names the object, the
gateway puts the bytes there after sniffing and decoding them (415 when not an image) with
their metadata stripped (decision 0052), the service checks them again and makes the thumbnail.
"""
from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway import documents
from gateway.auth import current_actor, requires, scope_for
from gateway.http import if_match, json_body, respond, versioned
from gateway.rpc import services
from gateway.schemas import ErrorSchema
from services.common import roles
from services.common.errors import ValidationFailed
from services.potential import images, schemas

blp = Blueprint("potential", __name__, url_prefix="/api/v1",
                description="Village potential: businesses (UMKM), organisations, tourism "
                            "sites, resources, the village profile and publications. An entry "
                            "read or changed answers with its version as ETag; send it back as "
                            "If-Match with a change to have the change refused (412) when "
                            "someone saved the entry in between (without If-Match the last "
                            "save wins).")

WRITERS = roles.POTENTIAL_EDITORS
READERS = roles.POTENTIAL_READERS


class PhotoForm(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)
    caption = fields.String(metadata={"description": "Optional caption (300 characters)."})


def _args(schema: type[Schema]) -> dict:
    """The query string as the client sent it (validated at the edge by `@blp.arguments`)."""
    return {key: request.args.get(key) for key in request.args
            if key in schema._declared_fields}


def _actor_scope(code: str | None = None):
    actor = current_actor()
    return actor, scope_for(actor, code)


def store_photo(owner_kind: str, owner_id: str, upload, caption: str | None) -> dict:
    """Put an uploaded photo where the service says, then have it recorded (and thumbnailed).
    The API's photo routes and the portal's forms both add photos through here."""
    actor, scope = _actor_scope()
    potential = services().potential
    target = potential.photo_target(owner_kind, owner_id, scope, actor.as_dict())
    if upload is None:
        raise ValidationFailed("Send the photo as a multipart field named 'file'.",
                               fields={"file": ["Missing file."]})
    data = upload.stream.read(images.MAX_PHOTO_BYTES + 1)
    # 415 here, before anything is stored; what is stored has no metadata (GPS!) to begin with
    photo = images.prepare(data, with_thumbnail=False)
    documents.store().put_bytes(target["key"], photo.data, photo.content_type)
    return potential.record_photo(owner_kind, owner_id, {"key": target["key"],
                                                         "caption": caption}, scope,
                                  actor.as_dict())


def _photo(owner_kind: str, owner_id: str):
    return respond(store_photo(owner_kind, owner_id, request.files.get("file"),
                               request.form.get("caption")), 201)


def _created(method: str, code: str):
    actor, scope = _actor_scope(code)
    return respond(getattr(services().potential, method)(code, json_body(), scope,
                                                         actor.as_dict()), 201)


def _changed(method: str, entity_id: str):
    """A change of an entry, refused (412) when `If-Match` names a version no longer current."""
    actor, scope = _actor_scope()
    return versioned(getattr(services().potential, method)(entity_id, json_body(), scope,
                                                           actor.as_dict(), if_match()))


def _listed(method: str, code: str, schema: type[Schema]):
    _, scope = _actor_scope(code)
    return respond(getattr(services().potential, method)(code, _args(schema), scope))


def _read(method: str, entity_id: str):
    _, scope = _actor_scope()
    return versioned(getattr(services().potential, method)(entity_id, scope))


# Reads of rows naming residents by NIK (owners, officers): the reader goes along and every
# read is in the audit log (decision 0034).

def _listed_personal(method: str, code: str, schema: type[Schema]):
    actor, scope = _actor_scope(code)
    return respond(getattr(services().potential, method)(code, _args(schema), scope,
                                                         actor.as_dict()))


def _read_personal(method: str, entity_id: str):
    actor, scope = _actor_scope()
    return versioned(getattr(services().potential, method)(entity_id, scope, actor.as_dict()))


PHOTO_ERRORS = {"description": "Not an image (sniffed from the bytes).", "schema": ErrorSchema}
STALE = {"description": "If-Match named a version of the entry that is no longer current: "
                        "someone saved it in between; nothing was changed.",
         "schema": ErrorSchema}

# -- businesses ------------------------------------------------------------------------------


@blp.route("/villages/<code>/businesses", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.BusinessCreate, error_status_code=400)
@blp.response(201, schemas.Business)
@blp.alt_response(422, schema=ErrorSchema,
                  description="The owner is not a living resident of the village.")
def register_business(data: dict, code: str):
    """Register a business (UMKM); `size_class` follows from capital and sales (PP 7/2021)."""
    return _created("register_business", code)


@blp.route("/villages/<code>/businesses", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.BusinessListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.BusinessPage)
def list_businesses(query: dict, code: str):
    """Businesses of the village, by sector, size class, dusun, or a part of the name (q)."""
    return _listed_personal("list_businesses", code, schemas.BusinessListArgs)


@blp.route("/businesses/<business_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Business)
@blp.alt_response(404, schema=ErrorSchema)
def get_business(business_id: str):
    return _read_personal("get_business", business_id)


@blp.route("/businesses/<business_id>", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.BusinessChange, error_status_code=400)
@blp.response(200, schemas.Business)
@blp.alt_response(412, **STALE)
def change_business(data: dict, business_id: str):
    return _changed("change_business", business_id)


@blp.route("/businesses/<business_id>/photos", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(PhotoForm, location="files", error_status_code=400)
@blp.response(201, schemas.Photo)
@blp.alt_response(415, **PHOTO_ERRORS)
def add_business_photo(form: dict, business_id: str):
    """A photo (multipart `file`: JPEG, PNG or WebP up to 8 MB); a thumbnail is made."""
    return _photo("business", business_id)


# -- organisations ---------------------------------------------------------------------------

@blp.route("/villages/<code>/organisations", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.OrganisationCreate, error_status_code=400)
@blp.response(201, schemas.Organisation)
def create_organisation(data: dict, code: str):
    """Record an organisation (BPD, LPM, PKK, Karang Taruna, ...) with its decree and officers."""
    return _created("create_organisation", code)


@blp.route("/villages/<code>/organisations", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.OrganisationListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.OrganisationPage)
def list_organisations(query: dict, code: str):
    return _listed_personal("list_organisations", code, schemas.OrganisationListArgs)


@blp.route("/organisations/<org_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Organisation)
@blp.alt_response(404, schema=ErrorSchema)
def get_organisation(org_id: str):
    return _read_personal("get_organisation", org_id)


@blp.route("/organisations/<org_id>", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.OrganisationChange, error_status_code=400)
@blp.response(200, schemas.Organisation)
@blp.alt_response(412, **STALE)
def change_organisation(data: dict, org_id: str):
    return _changed("change_organisation", org_id)


# -- tourism sites ---------------------------------------------------------------------------

@blp.route("/villages/<code>/tourism-sites", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.TourismSiteCreate, error_status_code=400)
@blp.response(201, schemas.StaffTourismSite)
def create_tourism_site(data: dict, code: str):
    """Record a tourism site with its development class (rintisan ... mandiri)."""
    return _created("create_tourism_site", code)


@blp.route("/villages/<code>/tourism-sites", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.TourismSiteListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.TourismSitePage)
def list_tourism_sites(query: dict, code: str):
    return _listed("list_tourism_sites", code, schemas.TourismSiteListArgs)


@blp.route("/tourism-sites/<site_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.StaffTourismSite)
@blp.alt_response(404, schema=ErrorSchema)
def get_tourism_site(site_id: str):
    return _read("get_tourism_site", site_id)


@blp.route("/tourism-sites/<site_id>", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.TourismSiteChange, error_status_code=400)
@blp.response(200, schemas.StaffTourismSite)
@blp.alt_response(412, **STALE)
def change_tourism_site(data: dict, site_id: str):
    return _changed("change_tourism_site", site_id)


@blp.route("/tourism-sites/<site_id>/photos", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(PhotoForm, location="files", error_status_code=400)
@blp.response(201, schemas.Photo)
@blp.alt_response(415, **PHOTO_ERRORS)
def add_tourism_site_photo(form: dict, site_id: str):
    return _photo("tourism_site", site_id)


# -- resources -------------------------------------------------------------------------------

@blp.route("/villages/<code>/resources", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.ResourceCreate, error_status_code=400)
@blp.response(201, schemas.Resource)
def create_resource(data: dict, code: str):
    """A resource or facility: kind, name, quantity in a unit allowed for the kind, year."""
    return _created("create_resource", code)


@blp.route("/villages/<code>/resources", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.ResourceListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.ResourcePage)
def list_resources(query: dict, code: str):
    """Resources by kind and year."""
    return _listed("list_resources", code, schemas.ResourceListArgs)


@blp.route("/resources/<resource_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Resource)
@blp.alt_response(404, schema=ErrorSchema)
def get_resource(resource_id: str):
    return _read("get_resource", resource_id)


@blp.route("/resources/<resource_id>", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.ResourceChange, error_status_code=400)
@blp.response(200, schemas.Resource)
@blp.alt_response(412, **STALE)
def change_resource(data: dict, resource_id: str):
    return _changed("change_resource", resource_id)


@blp.route("/resources/<resource_id>", methods=["DELETE"])
@requires(*WRITERS)
@blp.response(204)
def remove_resource(resource_id: str):
    actor, scope = _actor_scope()
    services().potential.remove_resource(resource_id, scope, actor.as_dict())
    return Response(status=204)


# -- profile ---------------------------------------------------------------------------------

@blp.route("/villages/<code>/profile", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Profile)
def get_profile(code: str):
    _, scope = _actor_scope(code)
    return versioned(services().potential.get_profile(code, scope))


@blp.route("/villages/<code>/profile", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.ProfileChange, error_status_code=400)
@blp.response(200, schemas.Profile)
@blp.alt_response(412, **STALE)
def change_profile(data: dict, code: str):
    """History, vision and mission, area, boundaries, officials (with a profile photo id), and
    the village's reference point (latitude, longitude) that places are checked against."""
    actor, scope = _actor_scope(code)
    return versioned(services().potential.change_profile(code, json_body(), scope,
                                                         actor.as_dict(), if_match()))


@blp.route("/villages/<code>/profile/photos", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(PhotoForm, location="files", error_status_code=400)
@blp.response(201, schemas.Photo)
@blp.alt_response(415, **PHOTO_ERRORS)
def add_profile_photo(form: dict, code: str):
    """A photo of the village or of an official (name it in `officials[].photo_id`)."""
    scope_for(current_actor(), code)
    return _photo("profile", code)


# -- posts -----------------------------------------------------------------------------------

@blp.route("/villages/<code>/posts", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.PostCreate, error_status_code=400)
@blp.response(201, schemas.Post)
def create_post(data: dict, code: str):
    """News or an announcement, plain text or Markdown (raw HTML is escaped), draft or
    published (`published_at` in the future schedules it)."""
    return _created("create_post", code)


@blp.route("/villages/<code>/posts", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.PostListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.PostPage)
def list_posts(query: dict, code: str):
    """Every post of the village, drafts included."""
    return _listed("list_posts", code, schemas.PostListArgs)


@blp.route("/posts/<post_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Post)
@blp.alt_response(404, schema=ErrorSchema)
def get_post(post_id: str):
    return _read("get_post", post_id)


@blp.route("/posts/<post_id>", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.PostChange, error_status_code=400)
@blp.response(200, schemas.Post)
@blp.alt_response(412, **STALE)
def change_post(data: dict, post_id: str):
    return _changed("change_post", post_id)


@blp.route("/posts/<post_id>", methods=["DELETE"])
@requires(*WRITERS)
@blp.response(204)
def remove_post(post_id: str):
    actor, scope = _actor_scope()
    services().potential.remove_post(post_id, scope, actor.as_dict())
    return Response(status=204)


@blp.route("/posts/<post_id>/photos", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(PhotoForm, location="files", error_status_code=400)
@blp.response(201, schemas.Photo)
@blp.alt_response(415, **PHOTO_ERRORS)
def add_post_photo(form: dict, post_id: str):
    return _photo("post", post_id)


# -- albums ----------------------------------------------------------------------------------

@blp.route("/villages/<code>/albums", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.AlbumCreate, error_status_code=400)
@blp.response(201, schemas.Album)
def create_album(data: dict, code: str):
    """A gallery album, draft or published."""
    return _created("create_album", code)


@blp.route("/villages/<code>/albums", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.PostListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.AlbumPage)
def list_albums(query: dict, code: str):
    return _listed("list_albums", code, schemas.PostListArgs)


@blp.route("/albums/<album_id>", methods=["GET"])
@requires(*READERS)
@blp.response(200, schemas.Album)
@blp.alt_response(404, schema=ErrorSchema)
def get_album(album_id: str):
    return _read("get_album", album_id)


@blp.route("/albums/<album_id>", methods=["PATCH"])
@requires(*WRITERS)
@blp.arguments(schemas.AlbumChange, error_status_code=400)
@blp.response(200, schemas.Album)
@blp.alt_response(412, **STALE)
def change_album(data: dict, album_id: str):
    return _changed("change_album", album_id)


@blp.route("/albums/<album_id>", methods=["DELETE"])
@requires(*WRITERS)
@blp.response(204)
def remove_album(album_id: str):
    """Remove the album with its photos."""
    actor, scope = _actor_scope()
    services().potential.remove_album(album_id, scope, actor.as_dict())
    return Response(status=204)


@blp.route("/albums/<album_id>/photos", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(PhotoForm, location="files", error_status_code=400)
@blp.response(201, schemas.Photo)
@blp.alt_response(415, **PHOTO_ERRORS)
def add_album_photo(form: dict, album_id: str):
    return _photo("album", album_id)


@blp.route("/photos/<photo_id>", methods=["DELETE"])
@requires(*WRITERS)
@blp.response(204)
def remove_photo(photo_id: str):
    actor, scope = _actor_scope()
    services().potential.remove_photo(photo_id, scope, actor.as_dict())
    return Response(status=204)


# -- follow-ups and regency ------------------------------------------------------------------

@blp.route("/villages/<code>/potential/follow-ups", methods=["GET"])
@requires(*READERS)
@blp.arguments(schemas.FollowUpListArgs, location="query", error_status_code=400)
@blp.response(200, schemas.FollowUpPage)
def list_follow_ups(query: dict, code: str):
    """Businesses whose owner, organisations whose chair or officer died or moved out."""
    return _listed_personal("list_follow_ups", code, schemas.FollowUpListArgs)


@blp.route("/potential/follow-ups/<follow_up_id>/resolve", methods=["POST"])
@requires(*WRITERS)
@blp.arguments(schemas.FollowUpResolve, error_status_code=400)
@blp.response(200, schemas.FollowUp)
@blp.alt_response(409, schema=ErrorSchema, description="Already resolved.")
def resolve_follow_up(data: dict, follow_up_id: str):
    actor, scope = _actor_scope()
    return respond(services().potential.resolve_follow_up(follow_up_id, json_body(), scope,
                                                          actor.as_dict()))


@blp.route("/regency/potential", methods=["GET"])
@requires(roles.REGENCY_ADMIN)
@blp.arguments(schemas.RegencyArgs, location="query", error_status_code=400)
@blp.response(200, schemas.RegencyCount(many=True))
def regency_counts(query: dict):
    """Counts across the regency by district, village, sector or size class."""
    return respond(services().potential.regency_counts(_args(schemas.RegencyArgs)))

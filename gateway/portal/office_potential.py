"""The village office's potential: news and announcements, and the forms of businesses (UMKM),
tourism sites, organisations, resources, gallery albums and the village profile, with photos
from the phone's camera. What is saved here appears on the village website (potential service).

Officers, secretaries and heads write; the treasurer reads the lists; another village's entry is
not found (the service's scope, as on the API). The forms are described in `potential_forms`.
"""
from __future__ import annotations

from flask import abort, redirect, request, url_for

from gateway.portal import blueprint, web
from gateway.portal import potential_forms as forms
from gateway.portal.office import _office, _refusal
from gateway.portal.potential import KIND_NAMES
from gateway.routes.potential import store_photo
from gateway.rpc import services
from services.common import roles
from services.common.errors import DesaError
from services.potential import images

EDITORS = roles.POTENTIAL_EDITORS
STAFF = roles.VILLAGE_STAFF
PER_PAGE = 20


def _posts(code: str, scope: str | None) -> dict:
    page = max(request.args.get("hal", 1, type=int), 1)
    return services().potential.list_posts(code, {"page": page, "per_page": PER_PAGE}, scope)


@blueprint.route("/kantor/berita", methods=["GET", "POST"])
@web.login_required(*EDITORS)
def office_news():
    """Write a post (news or announcement), publish it or keep it as a draft, with a photo."""
    _, code, scope, acting = _office()
    form, errors, message = {}, {}, None
    if request.method == "POST":
        form = {name: request.form.get(name, "").strip() for name in ("title", "kind", "body")}
        data = {**form, "status": "published" if request.form.get("aksi") == "terbit"
                else "draft"}
        try:
            photos = checked_photos()  # before the post exists: a wrong file leaves nothing
            post = services().potential.create_post(code, data, scope, acting)
            for photo in photos:
                store_photo("post", post["id"], photo, form["title"][:300] or None)
        except DesaError as error:
            errors, message = _photo_refusal(error)
        else:
            return redirect(url_for("portal.office_news", tersimpan=post["id"]), 303)
    saved = request.args.get("tersimpan")
    return web.page("office/news.html", code=400 if message else 200, form=form,
                    errors=errors, message=message, found=_posts(code, scope),
                    kinds=list(KIND_NAMES.items()), saved=saved)


@blueprint.route("/kantor/berita/<post_id>/terbitkan", methods=["POST"])
@web.login_required(*EDITORS)
def office_publish_post(post_id: str):
    _, _, scope, acting = _office()
    services().potential.change_post(post_id, {"status": "published"}, scope, acting)
    return redirect(url_for("portal.office_news", tersimpan=post_id), 303)


# -- photos ---------------------------------------------------------------------------------

def checked_photos(field: str = "foto") -> list:
    """The photos chosen in a form, each decoded as the API would store it before anything is
    saved (415 as a field error): a wrong file must not leave an entry behind."""
    chosen = [upload for upload in request.files.getlist(field) if upload and upload.filename]
    for upload in chosen:
        images.prepare(upload.stream.read(images.MAX_PHOTO_BYTES + 1), with_thumbnail=False)
        upload.stream.seek(0)
    return chosen


def _photo_refusal(error: DesaError) -> tuple[dict, str]:
    errors, message = _refusal(error)
    if "file" in errors:
        errors["foto"] = errors.pop("file")
    return errors, message


# -- businesses, tourism sites, organisations, resources, albums ----------------------------

def _kind(slug: str) -> forms.Kind:
    kind = forms.KINDS.get(slug)
    if kind is None:
        abort(404)
    return kind


def _filters(kind: forms.Kind) -> dict:
    return {spec.name: request.args.get(spec.name, "").strip()[:100] for spec in kind.filters
            if request.args.get(spec.name, "").strip()}


def _reader(kind: forms.Kind, acting: dict | None) -> tuple:
    """The reader argument of the kind's `get`/`list` when its entries name residents."""
    return (acting,) if kind.personal else ()


@blueprint.route("/kantor/potensi")
@web.login_required(*STAFF)
def office_potential():
    """The office's potential: one card per kind with how many entries it has."""
    _, code, scope, _ = _office()
    potential = services().potential
    # only totals are shown, no entry: nobody's data is read (reader None, not logged)
    totals = {kind.slug: getattr(potential, kind.list)(code, {"per_page": 1}, scope,
                                                       *_reader(kind, None))["total"]
              for kind in forms.KINDS.values()}
    return web.page("office/potential.html", kinds=forms.KINDS.values(), totals=totals,
                    can_write=web.actor().role in EDITORS)


@blueprint.route("/kantor/potensi/<slug>")
@web.login_required(*STAFF)
def office_potential_list(slug: str):
    kind = _kind(slug)
    _, code, scope, acting = _office()
    filters = _filters(kind)
    query = {**filters, "page": max(request.args.get("hal", 1, type=int), 1),
             "per_page": PER_PAGE}
    errors = {}
    try:
        found = getattr(services().potential, kind.list)(code, query, scope,
                                                         *_reader(kind, acting))
    except DesaError as error:  # a filter the service refuses: say so next to it
        errors, _ = _refusal(error)
        found = {"items": [], "total": 0, "page": 1, "per_page": PER_PAGE}
    names = {spec.name: dict(spec.options) for spec in (*kind.fields, *kind.filters)
             if spec.options}
    return web.page("office/potential_list.html", code=400 if errors else 200, kind=kind,
                    found=found, form=filters, errors=errors, names=names,
                    can_write=web.actor().role in EDITORS, saved=request.args.get("tersimpan"))


def _save(kind: forms.Kind, entry_id: str | None):
    """Create (entry_id None) or change an entry from the posted form, then its photos."""
    _, code, scope, acting = _office()
    potential = services().potential
    body = forms.body_of(kind.fields, request.form)
    photos = checked_photos() if kind.photo_owner else []
    if entry_id is None:
        saved = getattr(potential, kind.create)(code, body, scope, acting)
    else:  # refused (412) if someone saved the entry after this form was opened
        saved = getattr(potential, kind.change)(entry_id, body, scope, acting, _version())
    for photo in photos:
        store_photo(kind.photo_owner, saved["id"], photo, request.form.get("keterangan_foto",
                                                                           "").strip() or None)
    return saved


def _version() -> str | None:
    """The version of the entry the form was opened on (its hidden `versi` field)."""
    return request.form.get("versi", "").strip() or None


def _form_page(kind: forms.Kind, entry: dict | None, form: dict, errors: dict,
               message: str | None):
    return web.page("office/potential_form.html", code=400 if message else 200, kind=kind,
                    fields=kind.fields, entry=entry, form=form,
                    errors=forms.place_errors(kind.fields, errors), message=message,
                    rows=forms.row_counts(kind.fields, form), choices={},
                    photos=(entry or {}).get("photos", []) if kind.photo_owner else None,
                    saved=request.args.get("tersimpan"))


@blueprint.route("/kantor/potensi/<slug>/baru", methods=["GET", "POST"])
@web.login_required(*EDITORS)
def office_potential_new(slug: str):
    kind = _kind(slug)
    _office()
    form, errors, message = dict(kind.defaults), {}, None
    if request.method == "POST":
        form = forms.posted(kind.fields, request.form)
        try:
            saved = _save(kind, None)
        except DesaError as error:
            errors, message = _photo_refusal(error)
        else:
            if kind.get is None:  # resources are listed, not opened one by one
                return redirect(url_for("portal.office_potential_list", slug=slug,
                                        tersimpan=saved["id"]), 303)
            return redirect(url_for("portal.office_potential_entry", slug=slug,
                                    entry_id=saved["id"], tersimpan=saved["id"]), 303)
    return _form_page(kind, None, form, errors, message)


@blueprint.route("/kantor/potensi/<slug>/<entry_id>", methods=["GET", "POST"])
@web.login_required(*EDITORS)
def office_potential_entry(slug: str, entry_id: str):
    kind = _kind(slug)
    if kind.get is None:
        abort(404)
    _, _, scope, acting = _office()
    potential = services().potential
    # 404 for another village's
    entry = getattr(potential, kind.get)(entry_id, scope, *_reader(kind, acting))
    errors, message = {}, None
    if request.method == "POST":
        form = forms.posted(kind.fields, request.form)
        try:
            _save(kind, entry_id)
        except DesaError as error:
            errors, message = _photo_refusal(error)
        else:
            return redirect(url_for("portal.office_potential_entry", slug=slug,
                                    entry_id=entry_id, tersimpan=entry_id), 303)
    else:
        form = forms.form_of(kind.fields, entry)
    return _form_page(kind, entry, form, errors, message)


@blueprint.route("/kantor/potensi/<slug>/<entry_id>/hapus", methods=["POST"])
@web.login_required(*EDITORS)
def office_potential_remove(slug: str, entry_id: str):
    kind = _kind(slug)
    if kind.remove is None:
        abort(404)
    _, _, scope, acting = _office()
    getattr(services().potential, kind.remove)(entry_id, scope, acting)
    return redirect(url_for("portal.office_potential_list", slug=slug), 303)


@blueprint.route("/kantor/potensi/foto/<photo_id>/hapus", methods=["POST"])
@web.login_required(*EDITORS)
def office_potential_remove_photo(photo_id: str):
    """Remove one photo, then back to the entry (or profile) it belonged to."""
    _, _, scope, acting = _office()
    services().potential.remove_photo(photo_id, scope, acting)
    slug, entry_id = request.form.get("jenis", ""), request.form.get("id", "")
    if slug in forms.KINDS and entry_id:
        return redirect(url_for("portal.office_potential_entry", slug=slug,
                                entry_id=entry_id), 303)
    return redirect(url_for("portal.office_profile"), 303)


# -- the village profile --------------------------------------------------------------------

@blueprint.route("/kantor/potensi/profil", methods=["GET", "POST"])
@web.login_required(*EDITORS)
def office_profile():
    """History, vision and mission, area, boundaries, officials (each with a photo of the
    profile's), the reference point, and the profile's photos."""
    _, code, scope, acting = _office()
    potential = services().potential
    errors, message = {}, None
    if request.method == "POST":
        form = forms.posted(forms.PROFILE_FIELDS, request.form)
        try:
            photos = checked_photos()
            potential.change_profile(code, forms.body_of(forms.PROFILE_FIELDS, request.form),
                                     scope, acting, _version())
            for photo in photos:
                store_photo("profile", code, photo,
                            request.form.get("keterangan_foto", "").strip() or None)
        except DesaError as error:
            errors, message = _photo_refusal(error)
        else:
            return redirect(url_for("portal.office_profile", tersimpan=1), 303)
    profile = potential.get_profile(code, scope)
    if request.method == "GET":
        form = forms.form_of(forms.PROFILE_FIELDS, profile)
    photo_choices = tuple((photo["id"], photo.get("caption") or f"Foto {number}")
                          for number, photo in enumerate(profile.get("photos", []), 1))
    return web.page("office/potential_form.html", code=400 if message else 200,
                    kind=None, fields=forms.PROFILE_FIELDS, entry=profile, form=form,
                    errors=forms.place_errors(forms.PROFILE_FIELDS, errors), message=message,
                    rows=forms.row_counts(forms.PROFILE_FIELDS, form),
                    choices={"officials.photo_id": photo_choices},
                    photos=profile.get("photos", []), saved=request.args.get("tersimpan"))

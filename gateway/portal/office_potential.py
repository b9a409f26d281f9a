"""The village office's publications: news and announcements with a photo from the phone's
camera, drafts published later. The posts appear on the village website (potential service)."""
from __future__ import annotations

from flask import redirect, request, url_for

from gateway.portal import blueprint, web
from gateway.portal.office import _office, _refusal
from gateway.portal.potential import KIND_NAMES
from gateway.routes.potential import store_photo
from gateway.rpc import services
from services.common import roles
from services.common.errors import DesaError
from services.potential import images

EDITORS = roles.POTENTIAL_EDITORS
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
        photo = request.files.get("foto")
        try:
            if photo is not None and photo.filename:
                # Checked before the post exists: a wrong file must not leave a post behind.
                images.prepare(photo.stream.read(images.MAX_PHOTO_BYTES + 1),
                               with_thumbnail=False)
                photo.stream.seek(0)
            else:
                photo = None
            post = services().potential.create_post(code, data, scope, acting)
            if photo is not None:
                store_photo("post", post["id"], photo, form["title"][:300] or None)
        except DesaError as error:
            errors, message = _refusal(error)
            if "file" in errors:
                errors["foto"] = errors.pop("file")
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

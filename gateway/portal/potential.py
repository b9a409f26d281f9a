"""The village website's own content, from the potential service's public side: profile (vision
and mission), news and announcements, the gallery, the businesses and tourism catalogue, the
organisations.

Only what the potential service publishes is shown (published posts and albums, public schemas
with no owner, no NIK); photos are its lazy-loaded thumbnails with their caching headers.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, request

from gateway.auth import public
from gateway.portal import blueprint, web
from gateway.rpc import services
from services.common.errors import NotFound, ValidationFailed
from services.potential import schemas

PER_PAGE = 12
KIND_NAMES = {"news": "Berita", "announcement": "Pengumuman"}
SECTOR_NAMES = {"kuliner": "Kuliner", "fashion": "Fesyen", "kriya": "Kerajinan",
                "pertanian": "Pertanian", "peternakan": "Peternakan", "perikanan": "Perikanan"}
CLASS_NAMES = {"rintisan": "Rintisan", "berkembang": "Berkembang", "maju": "Maju",
               "mandiri": "Mandiri"}
# What the public sees of a post: the public schema's fields (the RPC answer is JSON-ready).
PUBLIC_POST_FIELDS = tuple(schemas.PublicPost._declared_fields)


def public_profile(code: str) -> dict | None:
    """The Profil Desa, or None while the potential service does not know the village yet."""
    try:
        return services().potential.public_profile(code)
    except NotFound:
        return None


def public_list(what: str, code: str, page: int = 1, per_page: int = PER_PAGE,
                **filters) -> dict:
    return services().potential.public_list(what, code, {"page": page, "per_page": per_page,
                                                         **filters})


def latest_posts(code: str, count: int = 3) -> list[dict]:
    return public_list("posts", code, per_page=count)["items"]


def _page() -> int:
    return max(request.args.get("hal", 1, type=int), 1)


def _published_post(code: str, post_id: str) -> dict:
    """A post of this village that the public may read; 404 for drafts, scheduled posts and
    another village's posts alike."""
    try:
        post = services().potential.get_post(post_id, code)
    except (NotFound, ValidationFailed):
        abort(404)
    published = post.get("published_at")
    if (post.get("status") != "published" or not published
            or datetime.fromisoformat(published) > datetime.now(UTC)):
        abort(404)
    return {name: post[name] for name in PUBLIC_POST_FIELDS if name in post}


def _render(template: str, code: str, **context):
    village = web.village_or_404(code)
    return web.page(template, cache=web.PUBLIC_CACHE, village=village, kind_names=KIND_NAMES,
                    **context)


@blueprint.route("/desa/<code>/berita")
@public
def village_news(code: str):
    kind = request.args.get("jenis")
    kind = kind if kind in KIND_NAMES else None
    found = public_list("posts", code, _page(), **({"kind": kind} if kind else {}))
    return _render("village/news.html", code, found=found, kind=kind)


@blueprint.route("/desa/<code>/berita/<post_id>")
@public
def village_article(code: str, post_id: str):
    return _render("village/article.html", code, post=_published_post(code, post_id))


@blueprint.route("/desa/<code>/galeri")
@public
def village_gallery(code: str):
    return _render("village/gallery.html", code, found=public_list("albums", code, _page()))


@blueprint.route("/desa/<code>/potensi")
@public
def village_catalogue(code: str):
    """Businesses (UMKM) and tourism sites, with photos; no owner, no figures of money."""
    return _render("village/catalogue.html", code, sector_names=SECTOR_NAMES,
                   class_names=CLASS_NAMES,
                   businesses=public_list("businesses", code, _page()),
                   sites=public_list("tourism_sites", code, per_page=50))


@blueprint.route("/desa/<code>/lembaga")
@public
def village_organisations(code: str):
    return _render("village/organisations.html", code,
                   found=public_list("organisations", code, _page(), per_page=50))

"""The village's public face: the profile (Profil Desa), posts (news, announcements), albums.

Markdown is rendered with raw HTML disabled (markdown-it escapes it) and unsafe link schemes
(javascript:, vbscript:, data:) refused, so a post can never carry a script to the website.
"""
from __future__ import annotations

import html
import uuid

import sqlalchemy as sa
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import NotFound, ValidationFailed
from services.common.fields import load
from services.common.outbox import Outbox
from services.common.pagination import fetch_page
from services.common.tenancy import check_scope
from services.potential import domain, events, schemas
from services.potential.app import photos, records
from services.potential.models import Album, Photo, Post, Profile, Village

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})
_PROFILE = schemas.Profile()
_POST, _PUBLIC_POST = schemas.Post(), schemas.PublicPost()
_ALBUM, _PUBLIC_ALBUM = schemas.Album(), schemas.PublicAlbum()


def render(body: str, body_format: str) -> str:
    if body_format == "markdown":
        return _MARKDOWN.render(body)
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p.strip()).replace(chr(10), '<br>')}</p>\n"
                   for p in paragraphs)


# -- profile --------------------------------------------------------------------------------

def _profile_state(session: Session, village_code: str, profile: Profile | None) -> dict:
    village = session.get(Village, village_code)
    pictures = records.photos_of(session, "profile", [village_code])[village_code]
    by_id = {p["id"]: p for p in pictures}
    officials = []
    for official in (profile.officials if profile else []) or []:
        photo = by_id.get(official.get("photo_id") or "")
        officials.append({"name": official["name"], "position": official["position"],
                          "photo_url": photo["url"] if photo else None,
                          "thumbnail_url": photo["thumbnail_url"] if photo else None})
    return _PROFILE.dump({
        "village_code": village_code, "village_name": village.name if village else None,
        "district_code": records.district_of(village_code),
        "district_name": village.district_name if village else None,
        **{c: getattr(profile, c) if profile else None for c in (
            "history", "vision", "mission", "area_hectares", "latitude", "longitude",
            "updated_at")},
        "boundaries": (profile.boundaries if profile else None) or {},
        "officials": officials, "photos": pictures})


def get_profile(session: Session, village_code: str, scope: str | None = None,
                public: bool = False) -> dict:
    records.check_code(village_code)
    if not public:
        check_scope(scope, village_code)
    profile = session.get(Profile, village_code)
    if profile is None and session.get(Village, village_code) is None:
        raise NotFound("Village not found")
    return _profile_state(session, village_code, profile)


def change_profile(session: Session, outbox: Outbox, village_code: str, data: dict,
                   scope: str | None, actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change the village profile")
    changes = load(schemas.ProfileChange(), data)
    records.check_village(village_code, scope)
    profile = session.get(Profile, village_code, with_for_update=True)
    if profile is not None:
        records.check_unchanged(profile, if_match, "Village profile")
    if profile is None:
        profile = Profile(village_code=village_code, boundaries={}, officials=[],
                          updated_at=clock.now())
        session.add(profile)
    for name, value in changes.items():
        setattr(profile, name, value)
    domain.check_point(profile.latitude, profile.longitude)
    photo_ids = {o["photo_id"] for o in profile.officials or [] if o.get("photo_id")}
    if photo_ids:
        known = {str(p.id) for p in session.scalars(sa.select(Photo).where(
            Photo.owner_kind == "profile", Photo.owner_id == village_code))}
        if photo_ids - known:
            raise ValidationFailed("An official's photo is not a photo of this profile.",
                                   fields={"officials": ["Unknown photo_id."]})
    profile.updated_at = clock.now()
    profile.updated_by = records.actor_summary(actor)
    session.flush()
    return events.emit_profile(session, outbox, _profile_state(session, village_code, profile))


# -- posts ----------------------------------------------------------------------------------

def _post_state(post: Post, pictures: list[dict]) -> dict:
    return {**{c: getattr(post, c) for c in (
        "village_code", "kind", "title", "body", "body_format", "body_html", "status",
        "published_at", "created_at", "updated_at")}, "id": str(post.id), "photos": pictures}


def post_dict(session: Session, post: Post) -> dict:
    return _POST.dump(_post_state(post, records.photos_of(session, "post",
                                                          [post.id])[str(post.id)]))


def _save_post(session: Session, outbox: Outbox, post: Post, was_published: bool) -> dict:
    if post.status == "published" and post.published_at is None:
        post.published_at = clock.now()
    post.body_html = render(post.body, post.body_format)
    session.flush()
    state = post_dict(session, post)
    published = post.status == "published" and not was_published
    return events.emit_post(session, outbox, state,
                            events.POST_PUBLISHED if published else events.POST_UPDATED)


def create_post(session: Session, outbox: Outbox, village_code: str, data: dict,
                scope: str | None, actor: dict) -> dict:
    records.check_editor(actor, "write posts")
    payload = load(schemas.PostCreate(), data)
    records.check_village(village_code, scope)
    post = records.new_record(Post, village_code, actor, **payload)
    session.add(post)
    return _save_post(session, outbox, post, was_published=False)


def change_post(session: Session, outbox: Outbox, post_id: str, data: dict, scope: str | None,
                actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change posts")
    changes = load(schemas.PostChange(), data)
    post = records.load(session, Post, post_id, scope, "Post", lock=True, if_match=if_match)
    was_published = post.status == "published"
    for name, value in changes.items():
        setattr(post, name, value)
    if post.status == "draft" and "published_at" not in changes:
        post.published_at = None
    post.updated_at = clock.now()
    post.updated_by = records.actor_summary(actor)
    return _save_post(session, outbox, post, was_published)


def remove_post(session: Session, outbox: Outbox, post_id: str, scope: str | None,
                actor: dict) -> list[str]:
    records.check_editor(actor, "remove posts")
    post = records.load(session, Post, post_id, scope, "Post", lock=True)
    keys = photos.remove_all_of(session, outbox, "post", post.id)
    state = post_dict(session, post)
    session.delete(post)
    events.emit_post(session, outbox, state, events.POST_REMOVED)
    return keys


def get_post(session: Session, post_id: str, scope: str | None) -> dict:
    return post_dict(session, records.load(session, Post, post_id, scope, "Post"))


def _post_page(session: Session, stmt: sa.Select, args: dict, schema) -> dict:
    rows, total = fetch_page(session, stmt, args["page"], args["per_page"])
    pictures = records.photos_of(session, "post", [p.id for p in rows])
    return {"items": [schema.dump(_post_state(p, pictures[str(p.id)])) for p in rows],
            "total": total, "page": args["page"], "per_page": args["per_page"]}


def list_posts(session: Session, village_code: str, query: dict, scope: str | None) -> dict:
    args = load(schemas.PostListArgs(), query)
    records.check_village(village_code, scope)
    stmt = sa.select(Post).where(Post.village_code == village_code)
    for name in ("status", "kind"):
        if args[name]:
            stmt = stmt.where(getattr(Post, name) == args[name])
    stmt = stmt.order_by(Post.published_at.desc().nulls_first(), Post.created_at.desc(),
                         Post.id)
    return _post_page(session, stmt, args, _POST)


def list_public_posts(session: Session, village_code: str, query: dict) -> dict:
    args = load(schemas.PostListArgs(), query)
    records.check_code(village_code)
    stmt = sa.select(Post).where(Post.village_code == village_code,
                                 Post.status == "published",
                                 Post.published_at <= clock.now())
    if args["kind"]:
        stmt = stmt.where(Post.kind == args["kind"])
    return _post_page(session, stmt.order_by(Post.published_at.desc(), Post.id), args,
                      _PUBLIC_POST)


# -- albums ---------------------------------------------------------------------------------

def _album_state(album: Album, pictures: list[dict]) -> dict:
    return {**{c: getattr(album, c) for c in (
        "village_code", "title", "description", "status", "created_at", "updated_at")},
        "id": str(album.id), "photos": pictures}


def album_dict(session: Session, album: Album) -> dict:
    return _ALBUM.dump(_album_state(album, records.photos_of(session, "album",
                                                             [album.id])[str(album.id)]))


def create_album(session: Session, outbox: Outbox, village_code: str, data: dict,
                 scope: str | None, actor: dict) -> dict:
    records.check_editor(actor, "make albums")
    payload = load(schemas.AlbumCreate(), data)
    records.check_village(village_code, scope)
    album = records.new_record(Album, village_code, actor, id=uuid.uuid4(), **payload)
    session.add(album)
    session.flush()
    return events.emit_album(session, outbox, album_dict(session, album))


def change_album(session: Session, outbox: Outbox, album_id: str, data: dict,
                 scope: str | None, actor: dict, if_match: str | None = None) -> dict:
    records.check_editor(actor, "change albums")
    changes = load(schemas.AlbumChange(), data)
    album = records.load(session, Album, album_id, scope, "Album", lock=True,
                         if_match=if_match)
    records.apply_changes(album, changes, actor)
    session.flush()
    return events.emit_album(session, outbox, album_dict(session, album))


def remove_album(session: Session, outbox: Outbox, album_id: str, scope: str | None,
                 actor: dict) -> list[str]:
    """Remove an album and its photos; returns the object keys to delete after the commit."""
    records.check_editor(actor, "remove albums")
    album = records.load(session, Album, album_id, scope, "Album", lock=True)
    keys = photos.remove_all_of(session, outbox, "album", album.id)
    state = album_dict(session, album)
    session.delete(album)
    events.emit_album(session, outbox, state, removed=True)
    return keys


def get_album(session: Session, album_id: str, scope: str | None) -> dict:
    return album_dict(session, records.load(session, Album, album_id, scope, "Album"))


def list_albums(session: Session, village_code: str, query: dict, scope: str | None,
                public: bool = False) -> dict:
    args = load(schemas.PostListArgs(), query)
    records.check_code(village_code)
    if not public:
        check_scope(scope, village_code)
    stmt = sa.select(Album).where(Album.village_code == village_code)
    if public:
        stmt = stmt.where(Album.status == "published")
    elif args["status"]:
        stmt = stmt.where(Album.status == args["status"])
    rows, total = fetch_page(session, stmt.order_by(Album.created_at.desc(), Album.id),
                             args["page"], args["per_page"])
    pictures = records.photos_of(session, "album", [a.id for a in rows])
    schema = _PUBLIC_ALBUM if public else _ALBUM
    return {"items": [schema.dump(_album_state(a, pictures[str(a.id)])) for a in rows],
            "total": total, "page": args["page"], "per_page": args["per_page"]}

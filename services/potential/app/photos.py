"""Photos of businesses, tourism sites, posts, albums and the profile.

Upload in two calls, as finance's evidence: `target` authorises and names the object, the
gateway puts the bytes there, `record` reads them back, checks they are an image, stores a
thumbnail and records the photo. Stored originals and thumbnails carry no metadata (EXIF, GPS,
XMP: decision 0052). A photo is public exactly when what it belongs to is public:
an active business, a tourism site, a published post or album, the profile.
"""
from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import NotFound, UnsupportedMediaType, ValidationFailed
from services.common.fields import load
from services.common.objectstore import ObjectStoreClient, document_key
from services.common.outbox import Outbox
from services.common.tenancy import in_scope
from services.potential import domain, events, images, schemas
from services.potential.app import records
from services.potential.models import Album, Business, Photo, Post, TourismSite

OWNERS = {"business": (Business, "Business"), "tourism_site": (TourismSite, "Tourism site"),
          "post": (Post, "Post"), "album": (Album, "Album")}
THUMBNAIL_SUFFIX = ".thumb"


def _owner_village(session: Session, owner_kind: str, owner_id: str, scope: str | None,
                   lock: bool = False) -> str:
    """The village of the thing a photo belongs to, if the caller's scope reaches it."""
    if owner_kind == "profile":
        records.check_village(owner_id, scope)
        return owner_id
    if owner_kind not in OWNERS:
        raise NotFound("Nothing to attach a photo to")
    model, what = OWNERS[owner_kind]
    return records.load(session, model, owner_id, scope, what, lock=lock).village_code


def is_public(session: Session, photo: Photo) -> bool:
    if photo.owner_kind in ("profile", "tourism_site"):
        return True
    model, _ = OWNERS[photo.owner_kind]
    owner = session.get(model, uuid.UUID(photo.owner_id))
    if owner is None:
        return False
    if photo.owner_kind == "business":
        return owner.status == "active"
    if photo.owner_kind == "post":
        return domain.is_public_post(owner.status, owner.published_at, clock.now())
    return owner.status == "published"


def target(session: Session, owner_kind: str, owner_id: str, scope: str | None,
           actor: dict) -> dict:
    """Where the gateway may put the bytes of a new photo of this owner."""
    records.check_editor(actor, "add photos")
    village = _owner_village(session, owner_kind, owner_id, scope)
    return {"key": document_key(village, "potential", "photos"), "village_code": village}


def record(session: Session, outbox: Outbox, store: ObjectStoreClient, owner_kind: str,
           owner_id: str, upload: dict, scope: str | None, actor: dict) -> dict:
    records.check_editor(actor, "add photos")
    caption = load(schemas.PhotoCaption(), {"caption": upload.get("caption")})["caption"]
    village = _owner_village(session, owner_kind, owner_id, scope, lock=True)
    key = str(upload.get("key", ""))
    if not key.startswith(f"{village}/potential/photos/") or THUMBNAIL_SUFFIX in key:
        raise ValidationFailed("Not a photo key of this village", fields={"key": ["Unknown."]})
    data = store.get_bytes(key)
    try:
        prepared = images.prepare(data, max_bytes=images.MAX_STORED_BYTES)
    except (UnsupportedMediaType, ValidationFailed):
        store.remove(key)
        raise
    if prepared.data != data:  # the gateway strips metadata; whoever put these bytes did not
        store.put_bytes(key, prepared.data, prepared.content_type)
    thumb = prepared.thumbnail
    thumbnail_key = key + THUMBNAIL_SUFFIX
    store.put_bytes(thumbnail_key, thumb.data, images.THUMBNAIL_TYPE)
    photo = Photo(village_code=village, owner_kind=owner_kind, owner_id=str(owner_id),
                  object_key=key, thumbnail_key=thumbnail_key,
                  content_type=prepared.content_type, size=len(prepared.data),
                  sha256=hashlib.sha256(prepared.data).hexdigest(),
                  thumbnail_sha256=hashlib.sha256(thumb.data).hexdigest(),
                  width=prepared.width, height=prepared.height, caption=caption,
                  uploaded_at=clock.now(), uploaded_by=records.actor_summary(actor))
    session.add(photo)
    session.flush()
    state = {**records.photo_dict(photo), "village_code": village, "owner_kind": owner_kind,
             "owner_id": str(owner_id), "object_key": key, "thumbnail_key": thumbnail_key,
             "size": photo.size, "sha256": photo.sha256,
             "thumbnail_sha256": photo.thumbnail_sha256}
    events.emit_photo(session, outbox, state)
    return records.photo_dict(photo)


def _removed(session: Session, outbox: Outbox, photo: Photo) -> list[str]:
    events.emit_photo(session, outbox, {**records.photo_dict(photo),
                                        "village_code": photo.village_code,
                                        "owner_kind": photo.owner_kind,
                                        "owner_id": photo.owner_id}, removed=True)
    session.delete(photo)
    return [photo.object_key, photo.thumbnail_key]


def remove(session: Session, outbox: Outbox, photo_id: str, scope: str | None,
           actor: dict) -> list[str]:
    """Forget a photo; returns the object keys to delete once the change is committed."""
    records.check_editor(actor, "remove photos")
    photo = records.load(session, Photo, photo_id, scope, "Photo", lock=True)
    return _removed(session, outbox, photo)


def remove_all_of(session: Session, outbox: Outbox, owner_kind: str, owner_id) -> list[str]:
    keys: list[str] = []
    for photo in session.scalars(sa.select(Photo).where(Photo.owner_kind == owner_kind,
                                                        Photo.owner_id == str(owner_id))):
        keys.extend(_removed(session, outbox, photo))
    return keys


def file(session: Session, photo_id: str, variant: str, scope: str | None,
         staff: bool) -> dict:
    """The object to stream for a photo (or its thumbnail): public photos to anyone, the
    others only to staff whose scope reaches the village (`staff` with `scope`)."""
    photo = session.get(Photo, records.as_uuid(photo_id, "Photo"))
    if photo is None:
        raise NotFound("Photo not found")
    public = is_public(session, photo)
    if not public and not (staff and in_scope(scope, photo.village_code)):
        raise NotFound("Photo not found")
    thumb = variant == "thumbnail"
    return {"key": photo.thumbnail_key if thumb else photo.object_key,
            "content_type": images.THUMBNAIL_TYPE if thumb else photo.content_type,
            "etag": photo.thumbnail_sha256 if thumb else photo.sha256, "public": public}


def delete_objects(store: ObjectStoreClient, keys: list[str]) -> None:
    """After the commit: the bytes of removed photos (a failure leaves an orphan, no harm)."""
    for key in keys:
        try:
            store.remove(key)
        except Exception:  # noqa: BLE001 - the rows are gone; an orphan object is harmless
            continue

"""Events the potential service emits, through the outbox (payload: the aggregate's full state).

The issue's catalogue (business.registered, business.updated, organisation.updated,
tourism_site.updated, resource.updated, post.published) plus the rest of each aggregate's life
(removals, profile, albums, photos, follow-ups), so the event log alone can rebuild the service.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from services.common.outbox import Outbox

BUSINESS_REGISTERED = "business.registered"
BUSINESS_UPDATED = "business.updated"
ORGANISATION_UPDATED = "organisation.updated"
TOURISM_SITE_UPDATED = "tourism_site.updated"
RESOURCE_UPDATED = "resource.updated"
RESOURCE_REMOVED = "resource.removed"
PROFILE_UPDATED = "profile.updated"
POST_UPDATED = "post.updated"  # drafts and edits
POST_PUBLISHED = "post.published"  # the change that made it published
POST_REMOVED = "post.removed"
ALBUM_UPDATED = "album.updated"
ALBUM_REMOVED = "album.removed"
PHOTO_ADDED = "photo.added"
PHOTO_REMOVED = "photo.removed"
FOLLOW_UP_OPENED = "follow_up.opened"
FOLLOW_UP_RESOLVED = "follow_up.resolved"


def _emit(session: Session, outbox: Outbox, event_type: str, state: dict) -> dict:
    outbox.record(session, event_type, village_code=state["village_code"],
                  aggregate_id=state["id"], payload=state)
    return state


def emit_business(session: Session, outbox: Outbox, state: dict, created: bool) -> dict:
    return _emit(session, outbox, BUSINESS_REGISTERED if created else BUSINESS_UPDATED, state)


def emit_organisation(session: Session, outbox: Outbox, state: dict) -> dict:
    return _emit(session, outbox, ORGANISATION_UPDATED, state)


def emit_tourism_site(session: Session, outbox: Outbox, state: dict) -> dict:
    return _emit(session, outbox, TOURISM_SITE_UPDATED, state)


def emit_resource(session: Session, outbox: Outbox, state: dict, removed: bool = False) -> dict:
    return _emit(session, outbox, RESOURCE_REMOVED if removed else RESOURCE_UPDATED, state)


def emit_profile(session: Session, outbox: Outbox, state: dict) -> dict:
    outbox.record(session, PROFILE_UPDATED, village_code=state["village_code"],
                  aggregate_id=state["village_code"], payload=state)
    return state


def emit_post(session: Session, outbox: Outbox, state: dict, event_type: str) -> dict:
    return _emit(session, outbox, event_type, state)


def emit_album(session: Session, outbox: Outbox, state: dict, removed: bool = False) -> dict:
    return _emit(session, outbox, ALBUM_REMOVED if removed else ALBUM_UPDATED, state)


def emit_photo(session: Session, outbox: Outbox, state: dict, removed: bool = False) -> dict:
    return _emit(session, outbox, PHOTO_REMOVED if removed else PHOTO_ADDED, state)


def emit_follow_up(session: Session, outbox: Outbox, state: dict) -> dict:
    event_type = FOLLOW_UP_RESOLVED if state["resolved_at"] else FOLLOW_UP_OPENED
    return _emit(session, outbox, event_type, state)

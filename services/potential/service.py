"""The potential nameko service: entrypoints only, each one call into app/ inside a transaction."""
from __future__ import annotations

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.inbox import consumes
from services.common.logs import RequestContext
from services.common.objectstore import ObjectStore
from services.common.service import OutboxProvider, ServiceBase, transaction
from services.potential.app import (
    businesses,
    catalogue,
    followups,
    organisations,
    photos,
    publications,
    resources,
    tourism,
)


class PotentialService(ServiceBase):
    """Businesses, organisations, tourism, resources, the village profile and its catalogue."""

    name = "potential"

    db = Database("potential")
    outbox = OutboxProvider()
    store = ObjectStore()
    request_id = RequestContext()

    # -- businesses -------------------------------------------------------------------------
    @rpc
    @transaction
    def register_business(self, village_code: str, data: dict, scope: str | None,
                          actor: dict) -> dict:
        return businesses.register(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def change_business(self, business_id: str, data: dict, scope: str | None,
                        actor: dict, if_match: str | None = None) -> dict:
        """`if_match`: the version (`updated_at`) the change was made from, if the caller
        wants a change of a newer version refused (412); likewise for every change_*."""
        return businesses.change(self.db, self.outbox, business_id, data, scope, actor,
                                 if_match)

    @rpc
    @transaction
    def get_business(self, business_id: str, scope: str | None, actor: dict | None) -> dict:
        """`actor`: the reader (required, logged: decision 0034); None for internal callers."""
        return businesses.get(self.db, business_id, scope, actor, self.request_id)

    @rpc
    @transaction
    def list_businesses(self, village_code: str, query: dict, scope: str | None,
                        actor: dict | None) -> dict:
        """`actor`: the reader (required, logged: decision 0034); None for internal callers."""
        return businesses.list_village(self.db, village_code, query, scope, actor,
                                       self.request_id)

    # -- organisations ----------------------------------------------------------------------
    @rpc
    @transaction
    def create_organisation(self, village_code: str, data: dict, scope: str | None,
                            actor: dict) -> dict:
        return organisations.create(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def change_organisation(self, org_id: str, data: dict, scope: str | None,
                            actor: dict, if_match: str | None = None) -> dict:
        return organisations.change(self.db, self.outbox, org_id, data, scope, actor, if_match)

    @rpc
    @transaction
    def get_organisation(self, org_id: str, scope: str | None, actor: dict | None) -> dict:
        """`actor`: the reader (required, logged: decision 0034); None for internal callers."""
        return organisations.get(self.db, org_id, scope, actor, self.request_id)

    @rpc
    @transaction
    def list_organisations(self, village_code: str, query: dict, scope: str | None,
                           actor: dict | None) -> dict:
        """`actor`: the reader (required, logged: decision 0034); None for internal callers."""
        return organisations.list_village(self.db, village_code, query, scope, actor,
                                          self.request_id)

    # -- tourism sites ----------------------------------------------------------------------
    @rpc
    @transaction
    def create_tourism_site(self, village_code: str, data: dict, scope: str | None,
                            actor: dict) -> dict:
        return tourism.create(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def change_tourism_site(self, site_id: str, data: dict, scope: str | None,
                            actor: dict, if_match: str | None = None) -> dict:
        return tourism.change(self.db, self.outbox, site_id, data, scope, actor, if_match)

    @rpc
    @transaction
    def get_tourism_site(self, site_id: str, scope: str | None) -> dict:
        return tourism.get(self.db, site_id, scope)

    @rpc
    @transaction
    def list_tourism_sites(self, village_code: str, query: dict, scope: str | None) -> dict:
        return tourism.list_village(self.db, village_code, query, scope)

    # -- resources --------------------------------------------------------------------------
    @rpc
    @transaction
    def create_resource(self, village_code: str, data: dict, scope: str | None,
                        actor: dict) -> dict:
        return resources.create(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def change_resource(self, resource_id: str, data: dict, scope: str | None,
                        actor: dict, if_match: str | None = None) -> dict:
        return resources.change(self.db, self.outbox, resource_id, data, scope, actor, if_match)

    @rpc
    @transaction
    def get_resource(self, resource_id: str, scope: str | None) -> dict:
        return resources.get(self.db, resource_id, scope)

    @rpc
    @transaction
    def remove_resource(self, resource_id: str, scope: str | None, actor: dict) -> None:
        resources.remove(self.db, self.outbox, resource_id, scope, actor)

    @rpc
    @transaction
    def list_resources(self, village_code: str, query: dict, scope: str | None) -> dict:
        return resources.list_village(self.db, village_code, query, scope)

    # -- profile, posts, albums -------------------------------------------------------------
    @rpc
    @transaction
    def get_profile(self, village_code: str, scope: str | None) -> dict:
        return publications.get_profile(self.db, village_code, scope)

    @rpc
    @transaction
    def change_profile(self, village_code: str, data: dict, scope: str | None,
                       actor: dict, if_match: str | None = None) -> dict:
        return publications.change_profile(self.db, self.outbox, village_code, data, scope,
                                           actor, if_match)

    @rpc
    @transaction
    def create_post(self, village_code: str, data: dict, scope: str | None,
                    actor: dict) -> dict:
        return publications.create_post(self.db, self.outbox, village_code, data, scope, actor)

    @rpc
    @transaction
    def change_post(self, post_id: str, data: dict, scope: str | None, actor: dict,
                    if_match: str | None = None) -> dict:
        return publications.change_post(self.db, self.outbox, post_id, data, scope, actor,
                                        if_match)

    @rpc
    def remove_post(self, post_id: str, scope: str | None, actor: dict) -> None:
        photos.delete_objects(self.store, self._remove_post(post_id, scope, actor))

    @transaction
    def _remove_post(self, post_id: str, scope: str | None, actor: dict) -> list[str]:
        return publications.remove_post(self.db, self.outbox, post_id, scope, actor)

    @rpc
    @transaction
    def get_post(self, post_id: str, scope: str | None) -> dict:
        return publications.get_post(self.db, post_id, scope)

    @rpc
    @transaction
    def list_posts(self, village_code: str, query: dict, scope: str | None) -> dict:
        return publications.list_posts(self.db, village_code, query, scope)

    @rpc
    @transaction
    def create_album(self, village_code: str, data: dict, scope: str | None,
                     actor: dict) -> dict:
        return publications.create_album(self.db, self.outbox, village_code, data, scope,
                                         actor)

    @rpc
    @transaction
    def change_album(self, album_id: str, data: dict, scope: str | None, actor: dict,
                     if_match: str | None = None) -> dict:
        return publications.change_album(self.db, self.outbox, album_id, data, scope, actor,
                                         if_match)

    @rpc
    def remove_album(self, album_id: str, scope: str | None, actor: dict) -> None:
        photos.delete_objects(self.store, self._remove_album(album_id, scope, actor))

    @transaction
    def _remove_album(self, album_id: str, scope: str | None, actor: dict) -> list[str]:
        return publications.remove_album(self.db, self.outbox, album_id, scope, actor)

    @rpc
    @transaction
    def get_album(self, album_id: str, scope: str | None) -> dict:
        return publications.get_album(self.db, album_id, scope)

    @rpc
    @transaction
    def list_albums(self, village_code: str, query: dict, scope: str | None) -> dict:
        return publications.list_albums(self.db, village_code, query, scope)

    # -- photos -----------------------------------------------------------------------------
    @rpc
    @transaction
    def photo_target(self, owner_kind: str, owner_id: str, scope: str | None,
                     actor: dict) -> dict:
        return photos.target(self.db, owner_kind, owner_id, scope, actor)

    @rpc
    @transaction
    def record_photo(self, owner_kind: str, owner_id: str, upload: dict, scope: str | None,
                     actor: dict) -> dict:
        return photos.record(self.db, self.outbox, self.store, owner_kind, owner_id, upload,
                             scope, actor)

    @rpc
    def remove_photo(self, photo_id: str, scope: str | None, actor: dict) -> None:
        photos.delete_objects(self.store, self._remove_photo(photo_id, scope, actor))

    @transaction
    def _remove_photo(self, photo_id: str, scope: str | None, actor: dict) -> list[str]:
        return photos.remove(self.db, self.outbox, photo_id, scope, actor)

    @rpc
    @transaction
    def photo_file(self, photo_id: str, variant: str, scope: str | None,
                   staff: bool) -> dict:
        return photos.file(self.db, photo_id, variant, scope, staff)

    # -- follow-ups -------------------------------------------------------------------------
    @rpc
    @transaction
    def list_follow_ups(self, village_code: str, query: dict, scope: str | None,
                        actor: dict | None) -> dict:
        """`actor`: the reader (required, logged: decision 0034); None for internal callers."""
        return followups.list_village(self.db, village_code, query, scope, actor,
                                      self.request_id)

    @rpc
    @transaction
    def resolve_follow_up(self, follow_up_id: str, data: dict, scope: str | None,
                          actor: dict) -> dict:
        return followups.resolve(self.db, self.outbox, follow_up_id, data, scope, actor)

    # -- public and regency -----------------------------------------------------------------
    @rpc
    @transaction
    def public_profile(self, village_code: str) -> dict:
        return publications.get_profile(self.db, village_code, public=True)

    @rpc
    @transaction
    def public_list(self, what: str, village_code: str, query: dict) -> dict:
        return catalogue.public_list(self.db, what, village_code, query)

    @rpc
    @transaction
    def search(self, query: dict) -> dict:
        return catalogue.search(self.db, query)

    @rpc
    @transaction
    def regency_counts(self, query: dict) -> list:
        return catalogue.regency(self.db, query)

    # -- read models from registry events (the inbox commits each one) -----------------------
    @consumes("registry", "village.updated")
    def on_village_updated(self, envelope: dict) -> None:
        followups.apply_village(self.db, envelope["payload"])

    @consumes("registry", "resident.registered")
    def on_resident_registered(self, envelope: dict) -> None:
        followups.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.updated")
    def on_resident_updated(self, envelope: dict) -> None:
        followups.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.moved_in")
    def on_resident_moved_in(self, envelope: dict) -> None:
        followups.apply_resident(self.db, envelope["payload"])

    @consumes("registry", "resident.died")
    def on_resident_died(self, envelope: dict) -> None:
        followups.apply_life_event(self.db, self.outbox, envelope["payload"])

    @consumes("registry", "resident.moved_out")
    def on_resident_moved_out(self, envelope: dict) -> None:
        followups.apply_life_event(self.db, self.outbox, envelope["payload"])


SERVICE = PotentialService

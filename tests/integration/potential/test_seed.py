"""The demo potential (`desa seed demo`'s potential part) against a real potential service in a
nameko container, on this run's PostgreSQL, RabbitMQ and SeaweedFS: everything arrives through
the service's RPC with its events, photos without metadata, and a second run adds nothing."""
from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from cli.main import seed_potential_demo
from services.potential.app import catalogue, followups, photos, publications
from services.potential.seed import ALBUM_PHOTOS, BUSINESSES, ORGANISATIONS, RESOURCES
from tests.integration.potential.conftest import new_village, resident

pytestmark = pytest.mark.integration


@pytest.fixture
def potential_service(container_factory, nameko_config, potential_engine, potential_store):
    from services.potential.service import PotentialService

    container_factory(PotentialService, nameko_config).start()


def _people(village: str) -> list[dict]:
    """Two families as register_resident data would have them (heads and spouses)."""
    return [{**resident(village), "relationship": relationship}
            for relationship in (1, 3, 1, 3)]


def test_demo_potential_arrives_through_the_service_once(potential_service, potential):
    village = new_village()
    people = _people(village)
    # The village and its residents reach potential's read model a moment after the seed
    # starts, as registry's events do in `make run`: businesses wait for their owners.
    def registry_events_arrive() -> None:
        potential(followups.apply_village, {"code": village, "name": "Desa Contoh",
                                            "updated_at": "2026-01-01T00:00:00+00:00"})
        for person in people:
            potential(followups.apply_resident, person)

    late = threading.Timer(2.0, registry_events_arrive)
    late.start()
    try:
        said = seed_potential_demo(village, people, wait_seconds=30)
    finally:
        late.join()
    assert f"{len(BUSINESSES)} businesses" in said and "1 tourism sites" in said, said

    events = potential.events(village)
    assert events.count("business.registered") == len(BUSINESSES)
    assert events.count("resource.updated") == len(RESOURCES)
    assert events.count("organisation.updated") == len(ORGANISATIONS)
    assert {"tourism_site.updated", "post.published", "album.updated", "profile.updated",
            "photo.added"} <= set(events)

    public = potential(catalogue.public_list, "businesses", village, {"per_page": 100})
    assert len(public["items"]) == len(BUSINESSES)
    assert all(len(item["photos"]) == 1 for item in public["items"])
    found = potential(catalogue.search, {"q": "trekking", "type": "tourism_site"})
    assert village in {hit["village_code"] for hit in found["items"]}
    posts = potential(catalogue.public_list, "posts", village, {})
    assert len(posts["items"]) == 1 and "<strong>" in posts["items"][0]["body_html"]
    albums = potential(catalogue.public_list, "albums", village, {})
    assert [len(album["photos"]) for album in albums["items"]] == [len(ALBUM_PHOTOS)]
    profile = potential(publications.get_profile, village, public=True)
    assert profile["history"] and profile["photos"]
    organisations = potential(catalogue.public_list, "organisations", village, {})
    assert all(org["chair_name"] == people[0]["name"] for org in organisations["items"])

    photo = public["items"][0]["photos"][0]
    stored = potential(photos.file, photo["id"], "original", None, False)
    with Image.open(io.BytesIO(potential.store.get_bytes(stored["key"]))) as image:
        assert image.format == "JPEG" and dict(image.getexif()) == {}

    again = seed_potential_demo(village, people, wait_seconds=30)
    assert again.endswith("all there already"), again
    assert potential.events(village) == events

"""Letters data for the drill: read models fed from the registry's state (as its events would),
a letter requested, checked, signed and issued with its PDF, and one with an attachment."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.outbox import Outbox
from services.letters.app import (
    attachments,
    issuing,
    letter_types,
    numbering,
    readmodels,
    requests,
)
from services.registry import events as registry_events
from services.registry.models import Resident, Village

OUTBOX = Outbox("letters")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def _feed_read_models(world, village: str) -> None:
    with Session(world.engine("registry")) as registry:
        state = registry_events.village_state(registry.get(Village, village))
        people = [registry_events.resident_state(r) for r in registry.scalars(
            sa.select(Resident).where(Resident.village_code == village))]
    world.do("letters", readmodels.apply_village, state)
    for person in people:
        world.do("letters", readmodels.apply_resident, person)


def build(world, village: str, round_: int) -> None:
    _feed_read_models(world, village)
    officer = {"role": "officer", "village_code": village, "username": "dr.officer", "nik": None}
    head = {**officer, "role": "head", "username": "dr.head"}
    nik = world.notes["residents"][village][round_ - 1]
    world.do("letters", letter_types.configure_letter_type, OUTBOX, village, "skck",
             {"enabled": round_ % 2 == 0}, village, head)
    letter = world.do("letters", requests.request_letter, OUTBOX,
                      {"type_code": "domisili", "subject_nik": nik,
                       "purpose": f"Persyaratan kerja {round_}"}, village, officer)
    target = world.do("letters", attachments.attachment_key, letter["id"], village, officer)
    world.documents.put_bytes(target["key"], JPEG + bytes([round_]) * 200, "image/jpeg")
    world.do("letters", attachments.record_attachment, OUTBOX, world.documents, letter["id"],
             {"key": target["key"], "kind": "ktp", "filename": "ktp.jpg"}, village, officer)
    world.do("letters", requests.change_status, OUTBOX, letter["id"], "check", village, officer)
    world.do("letters", numbering.sign_letter, OUTBOX, letter["id"], village, head)
    world.do("letters", issuing.issue_letter, OUTBOX, world.documents, world.signing_key,
             letter["id"])
    pending = world.do("letters", requests.request_letter, OUTBOX,
                       {"type_code": "domisili", "subject_nik": nik, "purpose": "Lain"},
                       village, officer)
    world.do("letters", requests.change_status, OUTBOX, pending["id"], "cancel", village,
             officer, reason="Tidak jadi")

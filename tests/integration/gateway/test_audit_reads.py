"""Every read of personal data in letters and potential is in the audit log (decision 0034).

The test walks EVERY GET operation of the letters and potential parts of the OpenAPI document
against the real services, as the village's officer (or the regency admin where only it may
call), with real letters (an attachment, an issued PDF), businesses, an organisation and a
follow-up in the village. Whatever whole NIK an answer shows must have a `read` row in the
audit log of that request (same request id, the officer's account), and the answers that carry
personal data without a NIK in plain text (the PDF, an attachment, the Buku Agenda, the
letter's history) must log the letter's subject. A new read route fails here until its path
parameters are given a value below: an unknown parameter is an error, not a skip.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.config import get_settings
from services.common.db import make_engine
from services.common.objectstore import documents_store
from services.common.outbox import Outbox
from services.common.service import unit_of_work
from services.common.tables import audit_log
from services.letters import tokens
from services.letters.app import attachments
from services.potential.app import businesses, followups, organisations
from tests.integration.gateway.conftest import PASSWORD, VILLAGE_A, VILLAGE_B, Gateway
from tests.integration.letters.conftest import OUTBOX, LettersWorld, actor
from tests.support.fakes import fake_person_nik
from tests.unit.letters.samples import png_bytes

pytestmark = pytest.mark.integration

TAGS = ("letters", "potential", "potential-public")
NIK = re.compile(rb"(?<!\d)\d{16}(?!\d)")
POTENTIAL = Outbox("potential")
# Parameters whose routes show nobody's personal data (photos, tourism, resources, publications, QR
# tokens): a random id is enough, a 404 is accepted, and the answer must still show no NIK.
NO_PERSONAL_DATA = {"site_id", "post_id", "album_id", "photo_id", "token", "resource_id"}
# The village profile (vision, history, officials by name): 404 until one is written.
MAY_BE_ABSENT = {"/api/v1/villages/{code}/profile", "/api/v1/public/villages/{code}/profile"}


@pytest.fixture(scope="module")
def engines(migrated):
    made = {name: make_engine(get_settings().database_url(name), pool_size=1, max_overflow=2)
            for name in ("registry", "letters", "finance", "potential")}
    yield made
    for engine in made.values():
        engine.dispose()


@pytest.fixture
def every_gw(running_services, app_factory, accounts) -> Gateway:
    return Gateway(app_factory().test_client(), accounts)


def _potential_resident(session: Session, **overrides) -> dict:
    nik, _ = fake_person_nik("P", district="360407")
    data = {"nik": nik, "name": "Warga Potensi", "village_code": VILLAGE_A, "status": "alive",
            "updated_at": datetime.now(UTC).isoformat(), **overrides}
    followups.apply_resident(session, data)
    return data


@pytest.fixture
def village_a(engines) -> dict:
    """Village A with personal data in every read: letters (one with an attachment, one
    issued), a business, an organisation with a chair and an officer, a follow-up."""
    store = documents_store()
    store.ensure_bucket()
    world = LettersWorld(engines["letters"], store,
                         tokens.load_signing_key(get_settings().letter_signing_key))
    world.village(code=VILLAGE_A)
    world.village(code=VILLAGE_B)
    subject = world.resident(VILLAGE_A)["nik"]
    open_letter = world.request(VILLAGE_A, subject)
    clerk = actor("officer", VILLAGE_A)
    target = world.do(attachments.attachment_key, open_letter["id"], VILLAGE_A, clerk)
    store.put_bytes(target["key"], png_bytes(), "image/png")
    attached = world.do(attachments.record_attachment, OUTBOX, store, open_letter["id"],
                        {"key": target["key"], "kind": "ktp"}, VILLAGE_A, clerk)
    issued = world.sign_and_issue(VILLAGE_A, world.checked(VILLAGE_A, subject)["id"])
    world.session.close()

    staff = {"role": "officer", "village_code": VILLAGE_A, "username": "audit-reads-test"}
    with Session(engines["potential"]) as session, unit_of_work(session):
        owner, chair, officer, leaving = (_potential_resident(session) for _ in range(4))
        business = businesses.register(session, POTENTIAL, VILLAGE_A, {
            "owner_nik": owner["nik"], "name": f"Usaha Audit {uuid.uuid4().hex[:6]}",
            "sector": "kuliner", "status": "active"}, VILLAGE_A, staff)
        businesses.register(session, POTENTIAL, VILLAGE_A, {
            "owner_nik": leaving["nik"], "name": f"Usaha Pindah {uuid.uuid4().hex[:6]}",
            "sector": "kuliner", "status": "active"}, VILLAGE_A, staff)
        org = organisations.create(session, POTENTIAL, VILLAGE_A, {
            "type": "LPM", "name": f"LPM Audit {uuid.uuid4().hex[:6]}",
            "chair_nik": chair["nik"],
            "officers": [{"nik": officer["nik"], "position": "Sekretaris"}]}, VILLAGE_A, staff)
        followups.apply_life_event(session, POTENTIAL, {**leaving, "status": "moved_out",
                                                        "updated_at": clock.now().isoformat()})
    return {"code": VILLAGE_A, "nik": subject, "letter_id": open_letter["id"],
            "attachment_id": attached["attachments"][0]["id"], "issued_id": issued["id"],
            "business_id": business["id"], "org_id": org["id"],
            "district": VILLAGE_A.rsplit(".", 1)[0]}


def _query(path: str) -> dict:
    today = clock.local_today()
    return {"/api/v1/letter-types": {"village": VILLAGE_A},
            "/api/v1/villages/{code}/letters/register": {"from": today.isoformat(),
                                                         "to": today.isoformat()},
            "/api/v1/letter-stats": {"year": today.year},
            "/api/v1/villages/{code}/potential/follow-ups": {"status": "all"},
            }.get(path, {})


# Answers about the letter's subject that need not print the NIK (the PDF, the documents sent
# with the request, the Buku Agenda, the letter's history): they must log the subject too.
ABOUT_THE_SUBJECT = {"/api/v1/letters/{letter_id}/pdf", "/api/v1/villages/{code}/letters/register",
                     "/api/v1/letters/{letter_id}/attachments/{attachment_id}",
                     "/api/v1/letters/{letter_id}/transitions"}


def _url(path: str, values: dict) -> tuple[str, bool]:
    """The path with its parameters filled; whether a parameter was a random id."""
    random_id = False

    def fill(match: re.Match) -> str:
        nonlocal random_id
        name = match.group(1)
        if name in NO_PERSONAL_DATA:
            random_id = True
            return str(uuid.uuid4())
        if path == "/api/v1/letters/{letter_id}/pdf" and name == "letter_id":
            return values["issued_id"]
        if name not in values:
            pytest.fail(f"{path}: give the parameter {name!r} a value in test_audit_reads.py "
                        f"(a real record whose read shows personal data, or list it in "
                        f"NO_PERSONAL_DATA)")
        return values[name]

    return re.sub(r"\{(\w+)\}", fill, path), random_id


def _caller(declared: list[str]) -> str | None:
    if "officer" in declared:
        return "officer_a"
    if "regency_admin" in declared:
        return "admin"
    if "operator" in declared:
        return "operator"
    assert declared == ["anonymous"], declared
    return None


def _reads(engines: dict, request_id: str) -> list[dict]:
    rows = []
    for name, engine in engines.items():
        with engine.connect() as conn:
            rows += [{"service": name, **row} for row in conn.execute(
                sa.select(audit_log).where(audit_log.c.request_id == request_id)).mappings()]
    return rows


def test_every_read_of_personal_data_in_letters_and_potential_is_audited(every_gw, village_a,
                                                                         engines):
    gw = every_gw
    spec = gw.request("GET", "/api/v1/openapi.json").get_json()
    operations = [(path, ops["get"]) for path, ops in spec["paths"].items()
                  if "get" in ops and set(ops["get"].get("tags", ())) & set(TAGS)]
    assert len(operations) >= 30, "the document lost the letters and potential reads"
    audited = []
    for path, operation in operations:
        url, random_id = _url(path, village_a)
        who = _caller(operation["x-desa-roles"])
        response = gw.request("GET", url, who, query_string=_query(path))
        label = f"GET {path} as {who or 'anonymous'}"
        if random_id or path in MAY_BE_ABSENT:
            assert response.status_code in (200, 404), (label, response.status_code)
        else:
            assert response.status_code == 200, (label, response.get_data()[:300])
        shown = {m.decode() for m in NIK.findall(response.get_data())}
        if path in ABOUT_THE_SUBJECT:
            shown.add(village_a["nik"])
        if who is None:
            assert not shown, f"{label} shows whole NIKs"
            continue
        if not shown:
            continue
        rows = _reads(engines, response.headers["X-Request-ID"])
        logged = {row["subject_nik"] for row in rows if row["action"] == "read"}
        assert shown <= logged, f"{label} showed {len(shown - logged)} NIK(s) not in the audit log"
        assert {(row["actor_username"], row["actor_role"]) for row in rows} == {
            (gw.accounts[who], "officer" if who == "officer_a" else "regency_admin")}, label
        audited.append((path, sorted({row["purpose"] for row in rows})))
    purposes = dict(audited)
    # the reads this change brought under the log, each seen logging with its purpose
    assert purposes == {
        "/api/v1/letters/{letter_id}": ["letter.read"],
        "/api/v1/letters/{letter_id}/transitions": ["letter.history"],
        "/api/v1/villages/{code}/letters": ["letter.list"],
        "/api/v1/residents/{nik}/letters": ["letter.list"],
        "/api/v1/letters/{letter_id}/pdf": ["letter.pdf"],
        "/api/v1/letters/{letter_id}/attachments/{attachment_id}": ["letter.attachment"],
        "/api/v1/villages/{code}/letters/register": ["letter.register"],
        "/api/v1/villages/{code}/businesses": ["business.list"],
        "/api/v1/businesses/{business_id}": ["business.read"],
        "/api/v1/villages/{code}/organisations": ["organisation.list"],
        "/api/v1/organisations/{org_id}": ["organisation.read"],
        "/api/v1/villages/{code}/potential/follow-ups": ["follow_up.list"],
    }


def test_a_read_names_its_subjects_village_and_reader(every_gw, village_a, engines):
    """One read in detail: the organisation's chair and officer, in village A, by the
    officer's account and role, action `read`, sealed into village A's chain."""
    gw = every_gw
    response = gw.request("GET", f"/api/v1/organisations/{village_a['org_id']}", "officer_a")
    assert response.status_code == 200
    body = response.get_json()
    people = {body["chair_nik"], *(o["nik"] for o in body["officers"])}
    rows = _reads(engines, response.headers["X-Request-ID"])
    assert sorted((r["service"], r["subject_nik"], r["village_code"], r["action"],
                   r["purpose"], r["actor_role"], r["actor_username"]) for r in rows) == sorted(
        ("potential", nik, VILLAGE_A, "read", "organisation.read", "officer",
         gw.accounts["officer_a"]) for nik in people)


def test_the_office_portal_pages_log_the_reads_they_show(every_gw, village_a, engines):
    """The officer console (server-rendered in the gateway) reads through the same RPCs: its
    letter queue and letter page, and its business and organisation lists and forms, log the
    people they show, by the officer's account."""
    client = every_gw.client.application.test_client()
    response = client.post("/masuk", data={"cara": "petugas", "password": PASSWORD,
                                           "username": every_gw.accounts["officer_a"]})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    pages = {"/kantor/surat?status=submitted": "letter.list",
             f"/kantor/surat/{village_a['letter_id']}": "letter.read",
             "/kantor/potensi/usaha": "business.list",
             f"/kantor/potensi/usaha/{village_a['business_id']}": "business.read",
             "/kantor/potensi/lembaga": "organisation.list",
             f"/kantor/potensi/lembaga/{village_a['org_id']}": "organisation.read"}
    for page, purpose in pages.items():
        response = client.get(page)
        assert response.status_code == 200, (page, response.get_data(as_text=True)[:300])
        rows = _reads(engines, response.headers["X-Request-ID"])
        assert rows, f"{page} logged no read"
        assert {(r["action"], r["actor_username"]) for r in rows} == {
            ("read", every_gw.accounts["officer_a"])}, page
        assert purpose in {r["purpose"] for r in rows}, (page, rows)

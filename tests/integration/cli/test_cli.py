"""The `desa` operator command against the real PostgreSQL, RabbitMQ and this run's databases."""
from __future__ import annotations

import json
import re
import signal
import stat
import subprocess
import uuid
from pathlib import Path

import kombu
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from cli.main import cli
from deploy.local.processes import desa_command
from services.common.config import get_settings
from services.common.db import drop_database, make_engine
from services.common.events import make_envelope
from services.common.tables import dead_letters as DEAD
from services.common.tables import outbox as OUTBOX

ROOT = Path(__file__).resolve().parents[3]


def desa(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def scalar(service: str, sql: str, **params):
    engine = make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text(sql), params)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def databases(infra):
    """Service databases of this module only, created by `desa migrate` itself.

    The demo seed never changes an existing account, so seeding the run's shared registry here
    would hand other folders' tests demo accounts with passwords they do not know.
    """
    from services.common.config import SERVICES, reset_settings

    template = (f"postgresql+psycopg2://postgres@127.0.0.1:5432/"
                f"desa_{infra.prefix}cli{uuid.uuid4().hex[:6]}_{{service}}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESA_DATABASE_URL_TEMPLATE", template)
        reset_settings()
        desa("migrate")
        desa("declare")
        yield template
        for service in SERVICES:
            drop_database(template.format(service=service))
    reset_settings()


def test_migrate_creates_the_databases_and_twice_leaves_them_at_their_head(databases):
    from alembic.script import ScriptDirectory

    from services.common.migrations import alembic_config
    from services.common.topology import service_classes

    first, second = desa("migrate"), desa("migrate")
    for cls in service_classes():
        assert get_settings().database_url(cls.name) == databases.format(service=cls.name)
        assert f"migrated {cls.name}" in first and f"migrated {cls.name}" in second
        head = ScriptDirectory.from_config(alembic_config(cls.name)).get_current_head()
        assert scalar(cls.name, "SELECT version_num FROM alembic_version") == head
        assert scalar(cls.name, "SELECT count(*) FROM outbox") is not None


def test_declare_twice_declares_every_exchange_journal_and_consumer_queue(databases):
    from services.common.topology import journal_queue, service_classes, subscriptions_of

    desa("declare")
    desa("declare")
    with kombu.Connection(get_settings().amqp_uri) as conn:
        channel = conn.channel()
        for cls in service_classes():
            # passive: raises if it does not exist
            channel.exchange_declare(f"{cls.name}.events", "topic", passive=True)
            channel.queue_declare(journal_queue(cls.name).name, passive=True)
            for sub in subscriptions_of(cls):
                channel.queue_declare(sub.queue_name, passive=True)


def test_buckets_twice_creates_the_documents_bucket(infra, monkeypatch):
    from services.common.config import reset_settings
    from services.common.objectstore import documents_store

    monkeypatch.setenv("DESA_DOCUMENTS_BUCKET", f"desa-{uuid.uuid4().hex[:10]}")
    reset_settings()
    try:
        store = documents_store()
        assert not store.client.bucket_exists(store.bucket)
        desa("buckets")
        assert f"bucket {store.bucket} ready" in desa("buckets")
        assert store.client.bucket_exists(store.bucket)
        store.client.remove_bucket(store.bucket)
    finally:
        monkeypatch.undo()
        reset_settings()


@pytest.mark.parametrize("command", [["backup", "status"], ["backup", "snapshot"]])
def test_a_command_without_its_backup_key_says_so_in_one_line(databases, monkeypatch, command):
    from services.common.config import reset_settings

    monkeypatch.setenv("DESA_BACKUP_KEYS", "")
    reset_settings()
    try:
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: DESA_BACKUP_KEYS is empty")
        assert "var/local.env" in result.output and "Traceback" not in result.output
        assert not isinstance(result.exception, Exception) or isinstance(result.exception,
                                                                          SystemExit)
    finally:
        monkeypatch.undo()
        reset_settings()


def authenticate(username: str, password: str) -> dict:
    """Log in through the registry's own application function."""
    from services.common.service import unit_of_work
    from services.registry.app import accounts

    engine = make_engine(get_settings().database_url("registry"), poolclass=sa.pool.NullPool)
    try:
        with Session(engine) as session, unit_of_work(session):  # refusals as wire errors
            return accounts.authenticate_password(session, username, password)
    finally:
        engine.dispose()


def test_topology_lists_every_service_exchange(databases):
    from services.common.topology import service_classes

    output = desa("topology")
    for cls in service_classes():
        assert f"{cls.name}.events" in output


def test_relay_publishes_waiting_events_and_stops_on_sigterm(databases):
    from services.common.outbox import Outbox
    from services.common.topology import event_exchange, service_classes

    service = service_classes()[0].name
    event_type = f"test.relayed{uuid.uuid4().hex[:6]}"
    with kombu.Connection(get_settings().amqp_uri) as conn:
        queue = kombu.Queue(f"test-relay-{event_type}", exchange=event_exchange(service),
                            routing_key=event_type, durable=True, auto_delete=False)
        queue(conn.channel()).declare()
    engine = make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)
    with Session(engine) as session:
        envelope = Outbox(service).record(
            session, event_type, village_code="36.04.05.2001", aggregate_id="7",
            payload={"n": 7})
        session.commit()

    relay = subprocess.Popen(desa_command("relay"), cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        with kombu.Connection(get_settings().amqp_uri) as conn:
            message = conn.SimpleQueue(queue.name, no_ack=True).get(timeout=30)
            assert message.payload == envelope
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=15) == 0
    finally:
        relay.kill()
        with kombu.Connection(get_settings().amqp_uri) as conn:
            conn.channel().queue_delete(queue.name)
        engine.dispose()
    assert scalar(service, "SELECT count(*) FROM outbox WHERE event_id = :e "
                  "AND sent_at IS NOT NULL", e=envelope["event_id"]) == 1


# -- outbox --------------------------------------------------------------------------------------
@pytest.fixture
def failing_rows(databases):
    """Two rows of the first service's outbox the relay failed on: one still retrying, one set
    aside after MAX_ATTEMPTS."""
    from services.common.relay import MAX_ATTEMPTS
    from services.common.topology import service_classes

    service = service_classes()[0].name
    engine = make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)
    ids = []
    with engine.begin() as conn:
        for attempts, error in [(2, "unroutable: no queue bound (topology fault)"),
                                (MAX_ATTEMPTS, "rejected by the broker (nack)")]:
            envelope = make_envelope(source=service, type="thing.stuck", village_code=None,
                                     aggregate_id=f"stuck-{uuid.uuid4().hex[:6]}", payload={})
            ids.append(conn.execute(OUTBOX.insert().values(
                event_id=envelope["event_id"], type="thing.stuck", village_code=None,
                aggregate_id=envelope["aggregate_id"], envelope=envelope, attempts=attempts,
                last_error=error).returning(OUTBOX.c.id)).scalar_one())
    yield service, ids
    with engine.begin() as conn:
        conn.execute(OUTBOX.delete().where(OUTBOX.c.id.in_(ids)))
    engine.dispose()


def test_outbox_status_counts_failing_and_set_aside_rows_and_fails(failing_rows):
    service, (retrying, set_aside) = failing_rows
    result = CliRunner().invoke(cli, ["outbox", "status", "--service", service])
    assert result.exit_code == 1, result.output
    [counts] = [line for line in result.output.splitlines() if line.startswith(f"{service}\t")]
    unsent, retrying_count, set_aside_count = counts.split("\t")[1:4]
    assert int(unsent) >= 2 and int(retrying_count) >= 1 and set_aside_count == "1"
    assert f"outbox {retrying} thing.stuck" in result.output and "retrying after 2" in result.output
    assert f"outbox {set_aside} thing.stuck" in result.output and "set aside" in result.output
    assert "desa outbox retry" in result.output


def test_outbox_retry_gives_set_aside_rows_fresh_attempts(failing_rows):
    service, (_, set_aside) = failing_rows
    assert "1 " in desa("outbox", "retry", "--service", service, "--all")
    assert scalar(service, "SELECT attempts FROM outbox WHERE id = :i", i=set_aside) == 0
    result = CliRunner().invoke(cli, ["outbox", "status", "--service", service])
    assert result.exit_code == 0, result.output


# -- seeds ---------------------------------------------------------------------------------------
@pytest.fixture
def registry(databases):
    return databases


def test_seed_villages_twice_gives_326_villages_and_no_duplicate_events(registry):
    desa("seed", "villages")
    villages = scalar("registry", "SELECT count(*) FROM villages")
    events = scalar("registry", "SELECT count(*) FROM outbox")
    desa("seed", "villages")
    assert villages == 326
    assert scalar("registry", "SELECT count(*) FROM villages") == 326
    assert scalar("registry", "SELECT count(*) FROM outbox") == events


def test_seed_synthetic_fills_empty_villages_without_events_or_capture_and_never_twice(
        registry):
    villages = ["36.04.35.2009", "36.04.35.2010"]
    desa("seed", "villages")
    events = scalar("registry", "SELECT count(*) FROM outbox")
    captured = "SELECT count(*) FROM backup_changes WHERE village IN (:a, :b)"
    captured_before = scalar("registry", captured, a=villages[0], b=villages[1])
    out = desa("seed", "synthetic", "--village", villages[0], "--village", villages[1],
               "--residents", "40", "--seed", "5")
    assert "loaded 80 residents" in out
    counted = "SELECT count(*) FROM {} WHERE village_code IN (:a, :b)"
    assert scalar("registry", counted.format("residents"), a=villages[0], b=villages[1]) == 80
    assert scalar("registry", counted.format("families"), a=villages[0], b=villages[1]) > 10
    assert scalar("registry", "SELECT count(*) FROM outbox") == events
    assert scalar("registry", captured, a=villages[0], b=villages[1]) == captured_before
    again = CliRunner().invoke(cli, ["seed", "synthetic", "--village", villages[1],
                                     "--residents", "5"])
    assert again.exit_code != 0 and "already have residents" in again.output
    assert scalar("registry", counted.format("residents"), a=villages[0], b=villages[1]) == 80


def test_seed_demo_twice_keeps_its_credentials_and_data(registry, tmp_path):
    desa("seed", "villages")
    credentials_file = tmp_path / "var" / "demo-credentials.json"
    first = desa("seed", "demo", "--credentials-file", str(credentials_file))
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    credentials = json.loads(credentials_file.read_text())
    assert set(credentials) == {"officer", "head", "regency_admin", "operator", "resident_pin"}
    password = credentials["officer"]
    assert len(password) >= 12 and len(set(credentials.values())) == 5
    assert re.search(rf"officer\s+demo\.officer\s+{re.escape(password)}\s+36\.04\.05\.2001",
                     first)
    residents = scalar("registry", "SELECT count(*) FROM residents")
    events = scalar("registry", "SELECT count(*) FROM outbox")
    assert residents > 0

    second = desa("seed", "demo", "--credentials-file", str(credentials_file))
    assert json.loads(credentials_file.read_text()) == credentials
    assert password in second
    assert scalar("registry", "SELECT count(*) FROM residents") == residents
    assert scalar("registry", "SELECT count(*) FROM outbox") == events
    assert authenticate("demo.officer", password)["village_code"] == "36.04.05.2001"


# -- accounts ------------------------------------------------------------------------------------
def test_republish_announces_one_village_again_and_changes_no_data(registry, tmp_path):
    desa("seed", "villages")
    desa("seed", "demo", "--credentials-file", str(tmp_path / "demo.json"))
    village = "36.04.05.2001"
    residents = scalar("registry", "SELECT count(*) FROM residents WHERE village_code = :v",
                       v=village)
    families = scalar("registry", "SELECT count(*) FROM families WHERE village_code = :v",
                      v=village)
    before = scalar("registry", "SELECT max(id) FROM outbox")

    output = desa("republish", "--village", village)

    assert f"1 village(s), {residents} resident(s), {families} family card(s)" in output
    assert scalar("registry", "SELECT count(*) FROM outbox WHERE id > :b", b=before) == \
        1 + residents + families
    assert scalar("registry", "SELECT count(DISTINCT village_code) FROM outbox WHERE id > :b",
                  b=before) == 1
    assert scalar("registry", "SELECT count(*) FROM residents WHERE village_code = :v",
                  v=village) == residents


def test_account_create_reads_the_password_from_stdin(registry):
    from services.common.errors import Unauthenticated

    desa("seed", "villages")
    # A real process with a pipe as standard input, as a script would call it.
    result = subprocess.run(
        desa_command("account", "create", "--role", "officer", "--village", "36.04.05.2003",
                     "--username", "cli.officer"),
        input="s3cret-from-stdin\n", capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert (created["role"], created["username"], created["village_code"]) == (
        "officer", "cli.officer", "36.04.05.2003")
    assert "s3cret-from-stdin" not in result.stdout + result.stderr

    assert authenticate("cli.officer", "s3cret-from-stdin")["role"] == "officer"
    with pytest.raises(Unauthenticated):
        authenticate("cli.officer", "s3cret-from-stdin\n")


def test_account_create_refuses_an_officer_without_a_village(registry):
    result = CliRunner().invoke(cli, ["account", "create", "--role", "officer",
                                      "--username", "no.village"], input="pw-long-enough\n")
    assert result.exit_code != 0
    assert scalar("registry", "SELECT count(*) FROM accounts WHERE username = 'no.village'") == 0


def test_account_create_refuses_an_empty_password(registry):
    result = CliRunner().invoke(cli, ["account", "create", "--role", "operator",
                                      "--username", "empty.pw"], input="\n")
    assert result.exit_code != 0
    assert "empty password" in result.output


def test_account_list_disable_enable_and_reset_password(registry):
    from services.common.errors import Unauthenticated

    desa("seed", "villages")
    username = f"cli.kaur.{uuid.uuid4().hex[:6]}"
    result = CliRunner().invoke(cli, ["account", "create", "--role", "treasurer", "--village",
                                      "36.04.05.2003", "--username", username],
                                input="first-password-1\n")
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in desa("account", "list", "--village", "36.04.05.2003",
                                                "--role", "treasurer").splitlines()]
    assert [(a["username"], a["active"]) for a in listed] == [(username, True)]

    assert json.loads(desa("account", "disable", username))["active"] is False
    with pytest.raises(Unauthenticated):
        authenticate(username, "first-password-1")
    assert username in desa("account", "list", "--disabled")
    assert username not in desa("account", "list", "--active")
    assert json.loads(desa("account", "enable", username))["active"] is True
    assert authenticate(username, "first-password-1")["username"] == username

    temporary = json.loads(desa("account", "reset-password", username))["password"]
    with pytest.raises(Unauthenticated):
        authenticate(username, "first-password-1")
    assert authenticate(username, temporary)["username"] == username
    assert scalar("registry", "SELECT count(*) FROM audit_log WHERE subject_nik = :s AND "
                              "actor_username = 'desa-cli' AND purpose LIKE 'account.%'",
                  s=f"account:{listed[0]['id']}") == 4  # created, disabled, enabled, reset

    missing = CliRunner().invoke(cli, ["account", "disable", "no.such.account"])
    assert missing.exit_code != 0 and "No account no.such.account" in missing.output


# -- dead letters --------------------------------------------------------------------------------
@pytest.fixture
def parked(databases):
    """A fake event parked in the first service's dead_letters table, for a declared queue."""
    from services.common.topology import service_classes

    service = service_classes()[0].name
    queue = f"test-replay-{uuid.uuid4().hex[:8]}"
    with kombu.Connection(get_settings().amqp_uri) as conn:
        kombu.Queue(queue, durable=True, auto_delete=False)(conn.channel()).declare()
    envelope = make_envelope(source=service, type="thing.happened", village_code="36.04.05.2001",
                             aggregate_id="42", payload={"answer": 42})
    engine = make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        row_id = conn.execute(DEAD.insert().values(
            event_id=envelope["event_id"], queue=queue, handler=f"{service}.on_thing",
            envelope=envelope, error="RuntimeError('boom')", attempts=4).returning(DEAD.c.id)
        ).scalar_one()
    yield service, row_id, queue, envelope
    with engine.begin() as conn:
        conn.execute(DEAD.delete().where(DEAD.c.id == row_id))
    engine.dispose()
    with kombu.Connection(get_settings().amqp_uri) as conn:
        conn.channel().queue_delete(queue)


def test_dead_letters_list_shows_the_parked_event(parked):
    service, row_id, queue, envelope = parked
    output = desa("dead-letters", "list", "--service", service)
    assert f"{service}\t{row_id}\tthing.happened\t{envelope['event_id']}\t{queue}\t4" in output
    rows = [json.loads(line) for line in desa("dead-letters", "list", "--json").splitlines()]
    assert any(r["id"] == row_id and r["envelope"] == envelope for r in rows)


def test_dead_letters_replay_publishes_to_the_queue_then_removes_the_row(parked):
    service, row_id, queue, envelope = parked
    desa("dead-letters", "replay", str(row_id), "--service", service)

    with kombu.Connection(get_settings().amqp_uri) as conn:
        message = conn.SimpleQueue(queue, no_ack=True).get(timeout=5)
        assert message.payload == envelope
        assert message.content_type == "application/json"
    assert scalar(service, "SELECT count(*) FROM dead_letters WHERE id = :i", i=row_id) == 0


def test_dead_letters_replay_to_a_missing_queue_keeps_the_row(parked):
    service, row_id, queue, envelope = parked
    with kombu.Connection(get_settings().amqp_uri) as conn:
        conn.channel().queue_delete(queue)
    result = CliRunner().invoke(cli, ["dead-letters", "replay", str(row_id), "--service", service])
    assert result.exit_code != 0
    assert "does not exist" in result.output
    assert scalar(service, "SELECT count(*) FROM dead_letters WHERE id = :i", i=row_id) == 1


def test_dead_letters_replay_of_an_unknown_id_fails(databases):
    result = CliRunner().invoke(cli, ["dead-letters", "replay", "999999999"])
    assert result.exit_code != 0
    assert "no dead letter 999999999" in result.output

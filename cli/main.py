"""The `desa` operator command: migrations, topology, seeds, accounts, relay, outbox, dead letters,
parked letters, backup and restore, the audit log's chains.

It runs the services' own application functions against their databases directly (it is an
operator tool on the same code base), so every change it makes goes out as an outbox event
through the relay like any other.
"""
from __future__ import annotations

import json
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.common import migrations, roles
from services.common import topology as topology_module
from services.common.config import get_settings
from services.common.db import make_engine, session_scope
from services.common.errors import DesaError
from services.common.inbox import QueueMissing, publish_to_queue
from services.common.outbox import Outbox
from services.common.tables import dead_letters as _DEAD
from services.common.tables import outbox as _OUTBOX
from services.common.topology import declare_topology, service_classes, subscriptions_of

DEFAULT_CREDENTIALS_FILE = Path("var/demo-credentials.json")
DEMO_POTENTIAL_YEAR = 2025  # the demo's resources are of one year, so a rerun adds nothing
CLI_ACTOR = {"role": roles.OPERATOR, "village_code": None, "username": "desa-cli", "nik": None}


def service_names() -> list[str]:
    return [cls.name for cls in service_classes()]


@contextmanager
def _engine(service: str) -> Iterator[Engine]:
    engine = make_engine(get_settings().database_url(service), poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def registry_session() -> Iterator[tuple[Session, Outbox]]:
    """A registry unit of work and its outbox: what the registry's app and seed functions take."""
    with _engine("registry") as engine, session_scope(engine) as session:
        yield session, Outbox("registry")


class _Commands(click.Group):
    """Every command: a missing or malformed key (backups, audit) is a one-line error naming the
    setting, never a traceback."""

    def invoke(self, ctx: click.Context):
        from services.common.audit import AuditKeyError
        from services.common.backup.crypto import BackupKeyError

        try:
            return super().invoke(ctx)
        except (BackupKeyError, AuditKeyError) as exc:
            raise click.ClickException(
                f"{exc}. The keys are configuration: `make run` keeps this machine's in "
                "var/local.env (load it with `set -a; . var/local.env; set +a`).") from None


@click.group(cls=_Commands)
def cli() -> None:
    """Desa Digital operator commands."""


# -- schema and topology -------------------------------------------------------------------------
@cli.command()
def migrate() -> None:
    """Create each service's database if missing and upgrade it to the latest migration."""
    for name in service_names():
        migrations.upgrade(name)
        click.echo(f"migrated {name}")


@cli.command()
def declare() -> None:
    """Declare every event exchange, its journal and every consumer queue on RabbitMQ."""
    queues = declare_topology()
    click.echo(f"declared {len(service_names())} exchanges and {len(queues)} queues "
               "(journals included)")


@cli.command()
def buckets() -> None:
    """Create the documents bucket in object storage if it does not exist."""
    from services.common.objectstore import documents_store

    store = documents_store()
    store.ensure_bucket()
    click.echo(f"bucket {store.bucket} ready at {get_settings().s3_endpoint}")


@cli.command()
@click.option("--definitions", is_flag=True,
              help="Print the topology as a RabbitMQ definitions file (JSON) instead.")
@click.option("--queue-type", type=click.Choice(["auto", "quorum", "classic"]), default="auto",
              show_default=True, help="With --definitions: queue type (auto: DESA_QUEUE_TYPE "
                                      "and the number of brokers in DESA_AMQP_URI).")
@click.option("--vhost", default="/", show_default=True, help="With --definitions: vhost.")
def topology(definitions: bool, queue_type: str, vhost: str) -> None:
    """Show each service's event exchange and the queues that consume from it."""
    if definitions:
        kind = topology_module.queue_type(configured=queue_type)
        click.echo(json.dumps(topology_module.definitions(kind, vhost), indent=2))
        return
    for cls in service_classes():
        click.echo(f"{cls.name}.events")
        for sub in subscriptions_of(cls):
            click.echo(f"  {sub.queue_name}  <- {sub.source}.events [{sub.event_type}]")


@cli.command()
@click.option("--village", "village_code", default=None, metavar="CODE",
              help="Only this village (default: every village).")
def republish(village_code: str | None) -> None:
    """Announce the registry's current state again (villages, residents, family cards).

    For a consumer deployed or restored after the registry had data: its read model is rebuilt
    from these events. Consumers keep the newest state they hold, so this never rolls back.
    """
    from services.registry.republish import republish as republish_state

    with registry_session() as (session, outbox):
        counts = republish_state(session, outbox, village_code)
    click.echo("announced {villages} village(s), {residents} resident(s), {families} family "
               "card(s); the relay publishes them".format(**counts))


# -- seeds ---------------------------------------------------------------------------------------
@cli.group()
def seed() -> None:
    """Load reference and demo data into the registry (idempotent)."""


@seed.command("villages")
def seed_villages_command() -> None:
    """The 326 villages of Kabupaten Serang with their districts."""
    from services.registry.seed import seed_villages

    with registry_session() as (session, outbox):
        changed = seed_villages(session, outbox)
    click.echo(f"villages seeded: {changed} created or changed")


def load_or_create_credentials(path: Path) -> dict:
    """Demo secrets: read from `path` if present, else strong random ones written with mode 600.

    {"officer", "head", "regency_admin", "operator": password, "resident_pin": "6 digits"}.
    """
    if path.exists():
        return json.loads(path.read_text())
    from services.registry.seed import DEMO_ACCOUNTS

    credentials = {role: secrets.token_urlsafe(12) for role, _, _ in DEMO_ACCOUNTS}
    credentials["resident_pin"] = f"{secrets.randbelow(10**6):06d}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps(credentials, indent=2) + "\n")
    return credentials


@seed.command("demo")
@click.option("--credentials-file", type=click.Path(path_type=Path),
              default=DEFAULT_CREDENTIALS_FILE, show_default=True,
              help="Where the demo passwords are kept (created with mode 600 if missing).")
@click.option("--wait-for-potential", type=click.FloatRange(0, 600), default=0.0,
              show_default=True, metavar="SECONDS",
              help="How long to wait for the potential service to answer (make run: 60).")
def seed_demo_command(credentials_file: Path, wait_for_potential: float) -> None:
    """One demo village with synthetic residents and families, demo accounts, and its
    potential (businesses with photos, organisations, tourism, resources, news, an album)
    through the running potential service."""
    from services.registry.seed import DEMO_ACCOUNTS, DEMO_VILLAGE, demo_people, seed_demo

    credentials = load_or_create_credentials(credentials_file)
    with registry_session() as (session, outbox):
        result = seed_demo(session, outbox, credentials)
    click.echo(f"demo data seeded in village {DEMO_VILLAGE}: {result['residents']} residents, "
               f"{result['families']} families")
    click.echo(seed_potential_demo(DEMO_VILLAGE, demo_people(), wait_for_potential))
    rows = [("role", "username", "password", "village")]
    rows += [(role, username, credentials[role], village or "(regency-wide)")
             for role, username, village in DEMO_ACCOUNTS]
    rows.append(("resident", f"nik {result['resident_nik']}",
                 f"pin {credentials['resident_pin']}", DEMO_VILLAGE))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    click.echo("Demo logins:")
    for row in rows:
        click.echo("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                   .rstrip())


def seed_potential_demo(village_code: str, people: list[dict], wait_seconds: float) -> str:
    """The demo village's potential (services/potential/seed.py) through the running potential
    service's RPC, owned by `people` (registry's demo residents, as register_resident data:
    heads of family own the businesses, spouses staff the organisations); a line saying what
    was added."""
    from gateway.errors import ServiceUnavailable
    from gateway.rpc import RpcPool
    from services.common.objectstore import documents_store
    from services.potential.seed import DemoSeeder

    pool = RpcPool(get_settings())

    def rpc(method: str, *args, key: str | None = None):
        return pool.call("potential", method, args, {}, idempotency_key=key)

    try:
        give_up = time.monotonic() + wait_seconds
        while True:  # the service may still be starting
            try:
                rpc("ping")
                break
            except ServiceUnavailable:
                if time.monotonic() > give_up:
                    return ("demo data (potential) not seeded: the potential service is not "
                            "running (make run starts it; then run desa seed demo again)")
                time.sleep(1.0)
        heads = [p["nik"] for p in people if p["relationship"] == 1]
        spouses = [p["nik"] for p in people if p["relationship"] == 3]
        added = DemoSeeder(rpc, documents_store(), village_code).run(heads, spouses,
                                                                    DEMO_POTENTIAL_YEAR)
    finally:
        pool.close_all()
    listed = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in added.items())
    return f"demo data (potential) in village {village_code}: {listed or 'all there already'}"


@seed.command("synthetic")
@click.option("--villages", "village_count", type=click.IntRange(1, None), default=None,
              help="How many villages, in code order (default: every village of the regency).")
@click.option("--village", "village_codes", multiple=True, metavar="CODE",
              help="Only these villages (repeatable); overrides --villages.")
@click.option("--residents", type=click.IntRange(1, 100_000), default=5000, show_default=True,
              help="Residents per village.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="The same seed gives the same people.")
def seed_synthetic_command(village_count: int | None, village_codes: tuple[str, ...],
                           residents: int, seed_value: int) -> None:
    """Bulk-load synthetic residents and families (COPY) into villages without residents.

    For benchmark and load-test databases: it writes no events and no backup capture rows
    (decision 0090); `desa republish` announces the result to consumers if they need it.
    """
    from services.registry.reference import serang_villages
    from services.registry.seed import seed_villages
    from services.registry.synthetic_load import VillagesNotEmpty, load_population

    with registry_session() as (session, outbox):
        seed_villages(session, outbox)
    codes = list(village_codes) or [v.code for v in serang_villages()][:village_count]
    with _engine("registry") as engine:
        try:
            report = load_population(
                engine, codes, residents, seed_value,
                progress=lambda code, total: click.echo(f"  {code}: {total:,} residents so far"))
        except VillagesNotEmpty as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"loaded {report.residents:,} residents in {report.families:,} families into "
               f"{report.villages} villages in {report.seconds:.1f} s "
               f"({report.residents / max(report.seconds, 1e-9):,.0f} residents/s); no events "
               "were written (desa republish announces them)")


# -- accounts ------------------------------------------------------------------------------------
@cli.group()
def account() -> None:
    """Staff accounts (services/common/roles.py: every role but resident)."""


def read_password() -> str:
    """From the terminal (hidden, confirmed) or the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@account.command("create")
@click.option("--role", required=True,
              type=click.Choice(roles.ACCOUNTS))
@click.option("--village", "village_code", default=None,
              help="Village code (36.04.05.2001); required for village staff.")
@click.option("--district", "district_code", default=None,
              help="District code (36.04.05); required for district_admin (the camat's view).")
@click.option("--username", required=True)
def account_create(role: str, village_code: str | None, district_code: str | None,
                   username: str) -> None:
    """Create an account; the password is read from standard input, never from an argument."""
    from services.common.errors import DesaError
    from services.registry.app.accounts import create_account

    password = read_password()
    if not password:
        raise click.UsageError("an empty password was given on standard input")
    try:
        with registry_session() as (session, _outbox):
            created = create_account(session, role=role, username=username, password=password,
                                     village_code=village_code, actor=CLI_ACTOR,
                                     district_code=district_code)
    except DesaError as exc:
        detail = f" {json.dumps(exc.fields)}" if exc.fields else ""
        raise click.ClickException(f"{exc.message}{detail}") from exc
    click.echo(json.dumps(created))


def _account_call(fn, *args, **kwargs):
    """Run an account function of registry in one transaction; a refusal is a one-line error."""
    from services.common.errors import DesaError

    try:
        with registry_session() as (session, _outbox):
            return fn(session, *args, **kwargs)
    except DesaError as exc:
        detail = f" {json.dumps(exc.fields)}" if exc.fields else ""
        raise click.ClickException(f"{exc.message}{detail}") from exc


@account.command("list")
@click.option("--village", "village_code", default=None, help="Only this village's accounts.")
@click.option("--role", default=None, type=click.Choice(roles.ACCOUNTS))
@click.option("--disabled/--active", "disabled", default=None,
              help="Only disabled (or only active) accounts.")
@click.option("--search", "q", default=None, help="Part of the username.")
def account_list(village_code: str | None, role: str | None, disabled: bool | None,
                 q: str | None) -> None:
    """Every staff account (one JSON line each): username, role, village or district, active."""
    from services.registry.app.accounts import list_accounts

    page = 1
    while True:
        listing = _account_call(list_accounts, CLI_ACTOR, village_code=village_code, role=role,
                                active=None if disabled is None else not disabled, q=q,
                                page=page, per_page=100)
        for item in listing["items"]:
            click.echo(json.dumps(item))
        if page * listing["per_page"] >= listing["total"]:
            break
        page += 1


@account.command("disable")
@click.argument("username")
def account_disable(username: str) -> None:
    """The account can no longer log in; a token it holds expires within
    DESA_TOKEN_TTL_SECONDS at the latest."""
    from services.registry.app.accounts import set_active

    click.echo(json.dumps(_account_call(set_active, username, False, CLI_ACTOR)))


@account.command("enable")
@click.argument("username")
def account_enable(username: str) -> None:
    """The account may log in again; its failed logins and lock are cleared."""
    from services.registry.app.accounts import set_active

    click.echo(json.dumps(_account_call(set_active, username, True, CLI_ACTOR)))


@account.command("reset-password")
@click.argument("username")
def account_reset_password(username: str) -> None:
    """Print a one-time temporary password (shown once, only its hash is kept); clears the
    account's failed logins and lock."""
    from services.registry.app.accounts import reset_password

    click.echo(json.dumps(_account_call(reset_password, username, CLI_ACTOR)))


# -- relay ---------------------------------------------------------------------------------------
@cli.command()
def relay() -> None:
    """Publish every service's outbox to RabbitMQ until SIGTERM or SIGINT."""
    from services.common.logs import configure_logging
    from services.common.relay import run_relays

    configure_logging(get_settings().log_level, service="relay")
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    names = service_names()
    threads = run_relays(names, stop)
    click.echo(f"relay running for {', '.join(names)}", err=True)
    while not stop.wait(1.0):
        pass
    for thread in threads:
        thread.join(timeout=10)


# -- outbox --------------------------------------------------------------------------------------
@cli.group()
def outbox() -> None:
    """Events waiting in the services' outboxes, failing, or set aside by the relay."""


@outbox.command("status")
@click.option("--service", default=None, help="Only this service's outbox.")
def outbox_status(service: str | None) -> None:
    """Backlog, failing and set-aside rows per service; exit status 1 if any row is set aside.

    A row is set aside after the relay failed to publish it MAX_ATTEMPTS times (unroutable or
    rejected by the broker); the later events of its aggregate wait behind it.
    """
    from services.common.relay import MAX_ATTEMPTS

    unsent = _OUTBOX.c.sent_at.is_(None)
    total_set_aside = 0
    click.echo("service\tunsent\tretrying\tset_aside\toldest_unsent\tlast_sent")
    problems = []
    for name in _services_option(service):
        with _engine(name) as engine, engine.connect() as conn:
            row = conn.execute(sa.select(
                sa.func.count().filter(unsent),
                sa.func.count().filter(unsent, _OUTBOX.c.attempts > 0,
                                       _OUTBOX.c.attempts < MAX_ATTEMPTS),
                sa.func.count().filter(unsent, _OUTBOX.c.attempts >= MAX_ATTEMPTS),
                sa.func.min(_OUTBOX.c.created_at).filter(unsent),
                sa.func.max(_OUTBOX.c.sent_at))).one()
            failing = conn.execute(
                sa.select(_OUTBOX.c.id, _OUTBOX.c.type, _OUTBOX.c.aggregate_id,
                          _OUTBOX.c.attempts, _OUTBOX.c.last_error)
                .where(unsent, _OUTBOX.c.attempts > 0).order_by(_OUTBOX.c.id).limit(20)).all()
        total_set_aside += row[2]
        stamp = [f"{value:%Y-%m-%d %H:%M:%S}" if value else "-" for value in row[3:]]
        click.echo(f"{name}\t{row[0]}\t{row[1]}\t{row[2]}\t{stamp[0]}\t{stamp[1]}")
        problems += [(name, failed) for failed in failing]
    for name, failed in problems:
        state = "set aside" if failed.attempts >= MAX_ATTEMPTS else "retrying"
        error = (failed.last_error or "").splitlines()[0][:100] if failed.last_error else ""
        click.echo(f"  {name} outbox {failed.id} {failed.type} aggregate {failed.aggregate_id}: "
                   f"{state} after {failed.attempts} attempt(s): {error}")
    if total_set_aside:
        click.echo(f"{total_set_aside} row(s) set aside: fix the cause, then "
                   "`desa outbox retry --service NAME --all`", err=True)
        sys.exit(1)


@outbox.command("retry")
@click.argument("outbox_ids", type=int, nargs=-1)
@click.option("--service", required=True, help="Service whose outbox holds the rows.")
@click.option("--all", "retry_all", is_flag=True, help="Every set-aside row of that service.")
def outbox_retry(outbox_ids: tuple[int, ...], service: str, retry_all: bool) -> None:
    """Give set-aside rows a fresh set of attempts; the relay publishes them in order."""
    from services.common.relay import MAX_ATTEMPTS

    if bool(outbox_ids) == retry_all:
        raise click.UsageError("give outbox ids or --all (not both)")
    name = _services_option(service)[0]
    chosen = _OUTBOX.c.attempts >= MAX_ATTEMPTS if retry_all else _OUTBOX.c.id.in_(outbox_ids)
    with _engine(name) as engine, engine.begin() as conn:
        count = conn.execute(_OUTBOX.update().where(_OUTBOX.c.sent_at.is_(None), chosen)
                             .values(attempts=0)).rowcount
    click.echo(f"{count} {name} outbox row(s) queued for the relay again")


# -- dead letters --------------------------------------------------------------------------------
@cli.group("dead-letters")
def dead_letters() -> None:
    """Events a consumer kept failing on, parked for an operator."""


def _services_option(service: str | None) -> list[str]:
    names = service_names()
    if service is None:
        return names
    if service not in names:
        raise click.BadParameter(f"unknown service {service!r}; one of {', '.join(names)}",
                                 param_hint="--service")
    return [service]


@dead_letters.command("list")
@click.option("--service", default=None, help="Only this service's parked events.")
@click.option("--json", "as_json", is_flag=True, help="Full rows as JSON lines.")
def dead_letters_list(service: str | None, as_json: bool) -> None:
    """List parked events, oldest first."""
    count = 0
    for name in _services_option(service):
        with _engine(name) as engine, engine.connect() as conn:
            rows = conn.execute(sa.select(_DEAD).order_by(_DEAD.c.id)).mappings().all()
        for row in rows:
            count += 1
            if as_json:
                click.echo(json.dumps({"service": name, **dict(row)}, default=str))
            else:
                error = row["error"].splitlines()[0][:60] if row["error"] else ""
                click.echo(f"{name}\t{row['id']}\t{row['envelope'].get('type')}\t"
                           f"{row['event_id']}\t{row['queue']}\t{row['attempts']}\t"
                           f"{row['failed_at']:%Y-%m-%d %H:%M:%S}\t{error}")
    if not as_json:
        click.echo(f"{count} dead letter(s)", err=True)


@dead_letters.command("replay")
@click.argument("dead_letter_id", type=int)
@click.option("--service", default=None,
              help="Service whose table holds the row (needed when several hold this id).")
def dead_letters_replay(dead_letter_id: int, service: str | None) -> None:
    """Publish a parked event back to its queue, then remove it from the table."""
    found = []
    for name in _services_option(service):
        with _engine(name) as engine, engine.connect() as conn:
            row = conn.execute(sa.select(_DEAD).where(_DEAD.c.id == dead_letter_id)).mappings() \
                .first()
        if row is not None:
            found.append((name, row))
    if not found:
        raise click.ClickException(f"no dead letter {dead_letter_id}")
    if len(found) > 1:
        raise click.ClickException(
            f"dead letter {dead_letter_id} exists in {', '.join(n for n, _ in found)}; "
            "choose one with --service")
    name, row = found[0]
    # Publish first, delete after the broker confirmed: a crash in between replays twice, which
    # the consumer's inbox absorbs; the other order could lose the event.
    try:
        publish_to_queue(row["queue"], row["envelope"])
    except QueueMissing:
        raise click.ClickException(
            f"queue {row['queue']!r} does not exist; run `desa declare` first") from None
    with _engine(name) as engine, engine.begin() as conn:
        conn.execute(_DEAD.delete().where(_DEAD.c.id == dead_letter_id))
    click.echo(f"replayed {name} dead letter {dead_letter_id} "
               f"({row['envelope'].get('type')} {row['event_id']}) to {row['queue']}")


# -- letters waiting for their PDF ---------------------------------------------------------------
@cli.group()
def letters() -> None:
    """Signed letters whose PDF could not be made or stored (object storage down)."""


@contextmanager
def letters_session() -> Iterator[Session]:
    with _engine("letters") as engine, session_scope(engine) as session:
        yield session


@letters.command("parked")
@click.option("--village", "village_code", default=None, metavar="CODE",
              help="Only this village's letters.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def letters_parked(village_code: str | None, as_json: bool) -> None:
    """List letters parked after too many failed PDF attempts; exit status 1 if there are any.

    A signed letter whose PDF step fails is tried again with growing delays; after the last
    attempt it is parked and waits here. Fix the cause (usually object storage), then
    `desa letters retry --all`.
    """
    from services.letters.app.issuing import parked_letters

    with letters_session() as session:
        parked = parked_letters(session, None, village_code)
    for row in parked:
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(f"{row['id']}\t{row['village_code']}\t{row['number']}\t"
                       f"{row['type_code']}\t{row['attempts']}\t{row['parked_at']}\t"
                       f"{(row['last_error'] or '')[:100]}")
    if not as_json:
        click.echo(f"{len(parked)} parked letter(s)", err=True)
    if parked:
        sys.exit(1)


@letters.command("retry")
@click.argument("letter_ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Every parked letter.")
def letters_retry(letter_ids: tuple[str, ...], retry_all: bool) -> None:
    """Try the PDF of parked letters again now; one still failing gets a fresh round of
    attempts from the letters service (exit status 1 if any failed again)."""
    from services.common.objectstore import documents_store
    from services.letters import tokens
    from services.letters.app import issuing

    if bool(letter_ids) == retry_all:
        raise click.UsageError("give letter ids or --all (not both)")
    if retry_all:
        with letters_session() as session:
            letter_ids = tuple(row["id"] for row in issuing.parked_letters(session, None))
    store = documents_store()
    key = tokens.load_signing_key(get_settings().letter_signing_key)
    failed = 0
    for letter_id in letter_ids:
        try:
            with letters_session() as session:
                issuing.unpark(session, letter_id, None)
        except DesaError as exc:  # not found, or not waiting for a PDF
            failed += 1
            click.echo(f"{letter_id}\t{exc.message}")
            continue
        try:
            with letters_session() as session:
                issuing.issue_letter(session, Outbox("letters"), store, key, letter_id)
        except Exception as exc:  # noqa: BLE001 - reported, counted, left to the service
            failed += 1
            with letters_session() as session:
                state = issuing.record_issue_failure(session, letter_id,
                                                     f"{type(exc).__name__}: {exc}")
            click.echo(f"{letter_id}\tfailed again: {type(exc).__name__}: {exc}; the letters "
                       f"service tries again at {(state or {}).get('next_attempt_at')}")
            continue
        with letters_session() as session:
            state = issuing.issue_state_of(session, letter_id)
        click.echo(f"{letter_id}\t{state['status']}\t{state['number']}")
    if failed:
        sys.exit(1)


# -- backup and restore --------------------------------------------------------------------------
@cli.group()
def backup() -> None:
    """Continuous encrypted backup to the off-site store (DESA_BACKUP_*)."""


@backup.command("ship")
def backup_ship() -> None:
    """Send every service's captured changes and documents to the backup store, and take the
    scheduled snapshots, until SIGTERM or SIGINT."""
    from services.common.backup.shipper import run_shippers
    from services.common.logs import configure_logging

    configure_logging(get_settings().log_level, service="backup")
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    names = service_names()
    threads = run_shippers(names, stop)  # a key error: one line, from the command group
    click.echo(f"backup shipper running for {', '.join(names)}", err=True)
    while not stop.wait(1.0):
        pass
    for thread in threads:
        thread.join(timeout=10)


@backup.command("status")
@click.option("--village", "village_code", default=None, metavar="CODE")
@click.option("--max-lag", default=60.0, show_default=True,
              help="Exit status 1 when a change has waited longer than this (seconds).")
def backup_status(village_code: str | None, max_lag: float) -> None:
    """Per service and village: unsent changes, the oldest one's age, last shipped segment and
    last snapshot. Exit status 1 when a change waits too long or a table is not captured."""
    from datetime import UTC, datetime

    from services.common.backup.operations import age, status

    rows, uncovered = status(service_names(), village_code)
    click.echo("service	village	unsent	oldest_unsent	last_shipped	last_snapshot")
    worst = 0.0
    for row in rows:
        click.echo(f"{row.service}	{row.scope}	{row.unsent}	{age(row.oldest_unsent)}	"
                   f"{age(row.last_shipped)}	{age(row.last_snapshot)}")
        if row.oldest_unsent is not None:
            worst = max(worst, (datetime.now(UTC) - row.oldest_unsent).total_seconds())
    failing = False
    for service, tables in uncovered.items():
        if tables:
            failing = True
            click.echo(f"{service}: tables not captured: {', '.join(tables)} "
                       "(run `desa migrate`)", err=True)
    if worst > max_lag:
        failing = True
        click.echo(f"the oldest unsent change waits for {worst:.0f} s: is `desa backup ship` "
                   "running and the backup store up?", err=True)
    if failing:
        sys.exit(1)


@backup.command("snapshot")
@click.option("--village", "village_codes", multiple=True, metavar="CODE",
              help="Only this village (repeatable; `regency` for rows of no village).")
@click.option("--service", default=None, help="Only this service.")
def backup_snapshot(village_codes: tuple[str, ...], service: str | None) -> None:
    """Snapshot villages now (default: every village with data in every service)."""
    from services.common.backup.operations import take_snapshots

    services = _services_option(service)
    if village_codes:  # a bar needs its length: known only when the villages are named
        with click.progressbar(length=len(village_codes) * len(services), label="snapshots",
                               file=sys.stderr) as bar:
            counts = take_snapshots(services, list(village_codes), bar.update)
    else:
        counts = take_snapshots(services, None)
    for name, count in counts.items():
        click.echo(f"{name}: {count} snapshot(s) written")


@backup.command("verify")
def backup_verify() -> None:
    """Read every backup object back: decryption, checksums, missing segments and data.
    Names each problem; exit status 1 if there is one."""
    from services.common.backup.operations import BackupStore
    from services.common.backup.verify import verify

    store = BackupStore.from_settings()
    total = sum(1 for _ in store.list(""))
    with click.progressbar(length=total, label="objects", file=sys.stderr) as bar:
        report = verify(store, service_names(), bar.update)
    for problem in report.problems:
        click.echo(problem)
    click.echo(f"{report.objects} object(s), {report.bytes} byte(s) checked; "
               f"{len(report.problems)} problem(s)")
    if report.problems:
        sys.exit(1)


@backup.command("prune")
def backup_prune() -> None:
    """Apply retention (7 daily, 4 weekly, 12 monthly snapshots), drop journal segments that no
    kept snapshot needs, and delete sent outbox rows older than DESA_OUTBOX_KEEP_HOURS that the
    backup store already has."""
    from datetime import timedelta

    from services.common.backup.retention import prune
    from services.common.backup.shipper import prune_outbox
    from services.common.backup.store import BackupStore

    store = BackupStore.from_settings()
    keep = timedelta(hours=get_settings().outbox_keep_hours)
    for name in service_names():
        removed = prune(store, name)
        with _engine(name) as engine:
            outbox_rows = prune_outbox(engine, keep)
        click.echo(f"{name}: {removed['snapshots']} snapshot(s), {removed['segments']} "
                   f"segment(s) removed; {outbox_rows} sent outbox row(s) deleted")


@cli.command()
@click.option("--village", "village_codes", multiple=True, metavar="CODE",
              help="Village to restore (repeatable).")
@click.option("--all", "restore_all", is_flag=True, help="Every village and the regency rows.")
@click.option("--service", default=None, help="Only this service.")
@click.option("--at", "at", default=None, metavar="TIMESTAMP",
              help="The state at this moment (ISO 8601; without a zone: UTC).")
def restore(village_codes: tuple[str, ...], restore_all: bool, service: str | None,
            at: str | None) -> None:
    """Restore villages from the backup store alone, onto this machine's databases (created by
    migration if missing) and documents bucket; then republish and print a report."""
    from datetime import UTC, datetime

    from services.common.backup.crypto import BackupKeyError
    from services.common.backup.operations import PartlyRestored
    from services.common.backup.operations import restore as run_restore
    from services.common.backup.restore import RestoreFailed

    if bool(village_codes) == restore_all:
        raise click.UsageError("give --village CODE or --all (not both)")
    moment = None
    if at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter(f"{at!r} is not an ISO 8601 time", param_hint="--at") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    counts: dict[str, int] = {}

    def progress(what: str, n: int) -> None:
        counts[what] = counts.get(what, 0) + n
        if counts[what] % 500 == 0:
            click.echo(f"  {what}: {counts[what]}", err=True)

    try:
        reports = run_restore(_services_option(service),
                              None if restore_all else list(village_codes), moment, progress)
    except (RestoreFailed, BackupKeyError) as exc:
        raise click.ClickException(f"restore stopped, nothing restored in any service: {exc}") \
            from None
    except PartlyRestored as exc:
        raise click.ClickException(f"restore stopped part way: {exc}") from None
    for report in reports:
        click.echo(f"{report.service}: {len(report.scopes)} village(s) in {report.seconds:.1f} s; "
                   f"{report.changes_replayed} journal change(s) replayed; "
                   f"{report.documents} document(s) verified by SHA-256 "
                   f"({report.document_bytes} bytes)")
        for table, rows in sorted(report.rows.items()):
            click.echo(f"  {table}: {rows} row(s) now, "
                       f"{report.snapshot_rows.get(table, 0)} from the snapshot manifest")



# -- audit log -----------------------------------------------------------------------------------
@cli.group()
def audit() -> None:
    """The hash-chained audit log of personal data (decisions 0032, 0035)."""


@audit.command("verify")
@click.option("--service", default=None, help="Only this service's log.")
@click.option("--seal/--no-seal", default=True,
              help="Chain rows still waiting for the services' sealer first (default).")
def audit_verify(service: str | None, seal: bool) -> None:
    """Check every village's chain; name the service, village and position where one breaks.
    Keyed rows are checked with DESA_AUDIT_KEYS (a chain rewritten without the key shows as
    `unkeyed`). Exits 1 when any chain is broken."""
    from services.common import audit as audit_log

    broken = 0
    for name in _services_option(service):
        with _engine(name) as engine, Session(engine) as session:
            if seal:
                audit_log.seal(session, name)
            report = audit_log.verify(session, name)
        click.echo(f"{name}: {report['rows']} row(s) in {report['chains']} chain(s), "
                   f"{report['keyed_rows']} keyed, {report['unsealed']} unsealed, "
                   f"{'intact' if report['intact'] else 'BROKEN'}")
        for gap in report["breaks"]:
            broken += 1
            click.echo(f"  {gap['service']} village {gap['village_code'] or 'regency'} "
                       f"position {gap['position']}: {gap['problem']} ({gap['detail']})")
    if broken:
        raise SystemExit(1)


if __name__ == "__main__":
    cli()

"""The `desa` operator command: migrations, topology, seeds, accounts, relay, outbox, dead letters.

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
from services.common.inbox import QueueMissing, publish_to_queue
from services.common.outbox import Outbox
from services.common.tables import dead_letters as _DEAD
from services.common.tables import outbox as _OUTBOX
from services.common.topology import declare_topology, service_classes, subscriptions_of

DEFAULT_CREDENTIALS_FILE = Path("var/demo-credentials.json")
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


@click.group()
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
def seed_demo_command(credentials_file: Path) -> None:
    """One demo village with synthetic residents and families, and demo accounts."""
    from services.registry.seed import DEMO_ACCOUNTS, DEMO_VILLAGE, seed_demo

    credentials = load_or_create_credentials(credentials_file)
    with registry_session() as (session, outbox):
        result = seed_demo(session, outbox, credentials)
    click.echo(f"demo data seeded in village {DEMO_VILLAGE}: {result['residents']} residents, "
               f"{result['families']} families")
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
@click.option("--username", required=True)
def account_create(role: str, village_code: str | None, username: str) -> None:
    """Create an account; the password is read from standard input, never from an argument."""
    from services.common.errors import DesaError
    from services.registry.app.accounts import create_account

    password = read_password()
    if not password:
        raise click.UsageError("an empty password was given on standard input")
    try:
        with registry_session() as (session, _outbox):
            created = create_account(session, role=role, username=username, password=password,
                                     village_code=village_code, actor=CLI_ACTOR)
    except DesaError as exc:
        detail = f" {json.dumps(exc.fields)}" if exc.fields else ""
        raise click.ClickException(f"{exc.message}{detail}") from exc
    click.echo(json.dumps(created))


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


if __name__ == "__main__":
    cli()

"""The local runner behind `make run`, `make stop` and `make status`.

`python -m deploy.local.run up` starts SeaweedFS, migrates and declares, starts every service, the
relay and the gateway, waits until the gateway is ready, seeds villages and the demo village and
prints where to go. Running it again leaves running processes alone. `down` stops them all.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import click

from deploy.local import seaweed
from deploy.local.localenv import ensure_local_env
from deploy.local.processes import (
    ProcessGroup,
    desa_command,
    gateway_command,
    gateway_url,
    http_ok,
    relay_command,
    service_command,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
LOG_DIR, RUN_DIR, DATA_DIR = VAR / "log", VAR / "run", VAR / "data"
LOCAL_ENV = VAR / "local.env"
CREDENTIALS = VAR / "demo-credentials.json"
SEAWEED = "seaweedfs"
# The off-site backup store, locally a second SeaweedFS on its own ports (issue 8).
BACKUP_STORE = "seaweedfs-backup"
BACKUP_PORTS = seaweed.SeaweedPorts(s3=8334, master=9334, volume=8081, filer=8889)

# Importing the service classes imports eventlet, which warns on import; not news to an operator.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def build_env() -> dict[str, str]:
    """The children's environment: this one, plus var/local.env for anything not already set."""
    env = dict(os.environ)
    for key, value in ensure_local_env(LOCAL_ENV).items():
        env.setdefault(key, value)
    env.setdefault("DESA_GATEWAY_BIND", "127.0.0.1:8000")
    env.setdefault("DESA_PUBLIC_URL", f"http://{env['DESA_GATEWAY_BIND']}")
    env.setdefault("DESA_S3_ENDPOINT", "127.0.0.1:8333")
    env.setdefault("DESA_BACKUP_S3_ENDPOINT", f"127.0.0.1:{BACKUP_PORTS.s3}")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def scale_of(service: str, env: dict[str, str], overrides: dict[str, int]) -> int:
    """How many processes of `service`: --scale, else DESA_SCALE_<SERVICE>, else 1."""
    if service in overrides:
        return overrides[service]
    return int(env.get(f"DESA_SCALE_{service.upper()}", "1"))


def process_names(service: str, count: int) -> list[str]:
    return [service if i == 1 else f"{service}-{i}" for i in range(1, count + 1)]


def run_step(args: list[str], env: dict[str, str], what: str) -> str:
    """Run one `desa` step to completion; its output also goes to var/log/setup.log."""
    result = subprocess.run(desa_command(*args), env=env, cwd=ROOT, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=600)
    with (LOG_DIR / "setup.log").open("a") as log:
        log.write(f"$ desa {' '.join(args)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise click.ClickException(f"{what} failed (exit {result.returncode}); "
                                   "see var/log/setup.log")
    return result.stdout


def s3_answers(env: dict[str, str]) -> bool:
    """True when the S3 endpoint accepts a request signed with our keys."""
    try:
        seaweed.wait_ready(env["DESA_S3_ENDPOINT"], env["DESA_S3_ACCESS_KEY"],
                           env["DESA_S3_SECRET_KEY"], timeout=0.5)
        return True
    except Exception:  # noqa: BLE001 - any failure means not (yet) usable
        return False


def start_seaweed(group: ProcessGroup, env: dict[str, str]) -> None:
    """Start SeaweedFS unless it (or another S3 server with our keys) already answers."""
    endpoint = env["DESA_S3_ENDPOINT"]
    if group.pid(SEAWEED) is not None:
        return
    if s3_answers(env):
        click.echo(f"object storage already answers at {endpoint}; not starting SeaweedFS")
        return
    data = DATA_DIR / "weed"
    data.mkdir(parents=True, exist_ok=True)
    config = data / "s3.json"
    seaweed.write_s3_config(config, env["DESA_S3_ACCESS_KEY"], env["DESA_S3_SECRET_KEY"])
    ports = ports_for(endpoint, seaweed.SeaweedPorts())
    group.start(SEAWEED, seaweed.command(data, ports, config))
    click.echo(f"started SeaweedFS S3 on {endpoint} (data in var/data/weed)")


def ports_for(endpoint: str, usual: seaweed.SeaweedPorts) -> seaweed.SeaweedPorts:
    """The usual ports at the usual S3 port; at another S3 port (a second `make run` beside the
    first one, from another checkout) free ports for the master, volume and filer as well, so the
    two never collide on them."""
    s3 = int(endpoint.rsplit(":", 1)[1])
    if s3 == usual.s3:
        return usual
    return dataclasses.replace(seaweed.SeaweedPorts.random(), s3=s3)


def backup_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with the backup store's endpoint and keys where the primary's are."""
    return {**env, "DESA_S3_ENDPOINT": env["DESA_BACKUP_S3_ENDPOINT"],
            "DESA_S3_ACCESS_KEY": env["DESA_BACKUP_S3_ACCESS_KEY"],
            "DESA_S3_SECRET_KEY": env["DESA_BACKUP_S3_SECRET_KEY"]}


def start_backup_store(group: ProcessGroup, env: dict[str, str]) -> None:
    """The second object store, the local stand-in for the off-site backup endpoint."""
    store_env = backup_env(env)
    if group.pid(BACKUP_STORE) is not None or s3_answers(store_env):
        return
    data = DATA_DIR / "weed-backup"
    data.mkdir(parents=True, exist_ok=True)
    config = data / "s3.json"
    seaweed.write_s3_config(config, store_env["DESA_S3_ACCESS_KEY"],
                            store_env["DESA_S3_SECRET_KEY"])
    ports = ports_for(store_env["DESA_S3_ENDPOINT"], BACKUP_PORTS)
    group.start(BACKUP_STORE, seaweed.command(data, ports, config))
    click.echo(f"started the backup store (SeaweedFS S3) on {store_env['DESA_S3_ENDPOINT']} "
               "(data in var/data/weed-backup)")


def wait_seaweed(group: ProcessGroup, env: dict[str, str]) -> None:
    managed = group.pid(SEAWEED) is not None
    wait_until(lambda: s3_answers(env), 90, f"object storage at {env['DESA_S3_ENDPOINT']}",
               failed=lambda: first_dead(group, [SEAWEED]) if managed else None)


def first_dead(group: ProcessGroup, names: list[str]) -> str | None:
    for name in names:
        if group.pid(name) is None:
            return f"{name} exited; last lines of var/log/{name}.log:\n{group.log_tail(name)}"
    return None


def parse_scale(values: tuple[str, ...]) -> dict[str, int]:
    scale = {}
    for value in values:
        match = re.fullmatch(r"([a-z_]+)=(\d+)", value)
        if not match:
            raise click.BadParameter(f"{value!r} is not SERVICE=N", param_hint="--scale")
        scale[match[1]] = int(match[2])
    return scale


@click.group()
def main() -> None:
    """Run the whole platform on this machine."""


def waited(fn):
    """Show a process that died or a dependency that never got ready as an error, not a trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, TimeoutError) as exc:
            raise click.ClickException(f"{exc}\n(make stop stops what did start)") from exc

    return wrapper


@main.command()
@click.option("--scale", multiple=True, metavar="SERVICE=N",
              help="Run N processes of SERVICE (same as DESA_SCALE_<SERVICE>=N).")
@click.option("--seed/--no-seed", default=True, help="Seed villages and the demo village.")
@waited
def up(scale: tuple[str, ...], seed: bool) -> None:
    """Start everything that is not running yet."""
    from services.common.topology import service_classes

    began = time.monotonic()
    for folder in (LOG_DIR, RUN_DIR, DATA_DIR):
        folder.mkdir(parents=True, exist_ok=True)
    env = build_env()
    overrides = parse_scale(scale)
    group = ProcessGroup(RUN_DIR, LOG_DIR, env=env, cwd=ROOT)
    commands: dict[str, list[str]] = {}

    start_seaweed(group, env)
    start_backup_store(group, env)
    run_step(["migrate"], env, "desa migrate")
    run_step(["declare"], env, "desa declare")
    wait_seaweed(group, env)
    wait_until(lambda: s3_answers(backup_env(env)), 90, "the backup store",
               failed=lambda: first_dead(group, [BACKUP_STORE])
               if BACKUP_STORE in group.names() else None)
    run_step(["buckets"], env, "desa buckets")

    for cls in service_classes():
        wanted = process_names(cls.name, scale_of(cls.name, env, overrides))
        for name in wanted:
            commands[name] = service_command(cls.name)
        for extra in group.names():  # scaled down since the last run
            if re.fullmatch(rf"{cls.name}-\d+", extra) and extra not in wanted:
                group.stop(extra)
                click.echo(f"stopped {extra} (scaled down)")
    commands["relay"] = relay_command()
    commands["backup-ship"] = desa_command("backup", "ship")
    bind = env["DESA_GATEWAY_BIND"]
    commands["gateway"] = gateway_command(bind, int(env.get("DESA_GATEWAY_WORKERS", "2")),
                                          int(env.get("DESA_GATEWAY_THREADS", "8")))
    running = [name for name in commands if group.pid(name) is not None]
    started = [name for name in commands if name not in running]
    for name, argv in commands.items():
        group.start(name, argv)
    url = gateway_url(bind)
    if running:
        click.echo(f"already running: {', '.join(running)}")
    if started:
        click.echo(f"started {', '.join(started)}")
    click.echo(f"waiting for {url}/statusz")
    watched = list(commands) + ([SEAWEED] if group.pid(SEAWEED) else [])
    wait_until(lambda: http_ok(f"{url}/statusz"), 120, "gateway /statusz",
               failed=lambda: first_dead(group, watched))

    demo = ""
    if seed:
        run_step(["seed", "villages"], env, "desa seed villages")
        demo = run_step(["seed", "demo", "--credentials-file", str(CREDENTIALS),
                         "--wait-for-potential", "60"], env, "desa seed demo")
    click.echo(summary(url, demo, time.monotonic() - began))


def summary(url: str, demo: str, seconds: float) -> str:
    table = "\n".join(line for line in demo.splitlines() if not line.startswith("demo data"))
    username, password = demo_officer(demo)
    match = re.search(r"village (\S+):", demo)
    village = match[1] if match else "36.04.05.2001"
    return f"""
Desa Digital is running (ready in {seconds:.1f} s).

  Web portal     {url}/                      (every village's website, in Indonesian)
  Village site   {url}/desa/{village}
  Log in         {url}/masuk                 (residents: NIK + PIN; staff: username + password)
  Office         {url}/kantor                Regency dashboard: {url}/kabupaten
  API            {url}/api/v1
  API docs       {url}/api/v1/docs   (OpenAPI document: {url}/api/v1/openapi.json)
  Health         {url}/healthz  {url}/readyz  {url}/statusz
  Logs           var/log/<process>.log      Status: make status      Stop: make stop

{table or "(demo data not seeded)"}
  (kept in var/demo-credentials.json; demo village {village})

Try it:
  TOKEN=$(curl -s {url}/api/v1/auth/login -H 'Content-Type: application/json' \\
      -d '{{"username": "{username}", "password": "{password}"}}' \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" \\
      '{url}/api/v1/villages/{village}/residents?per_page=5'
"""


def demo_officer(demo: str) -> tuple[str, str]:
    for line in demo.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "officer":
            return parts[1], parts[2]
    return "demo.officer", "<password from var/demo-credentials.json>"


@main.command()
def down() -> None:
    """Stop every process `up` started (SIGTERM, then SIGKILL after 15 s)."""
    group = ProcessGroup(RUN_DIR, LOG_DIR)
    stores = (SEAWEED, BACKUP_STORE)
    stopped = group.stop_all([name for name in group.names() if name not in stores])
    # SeaweedFS's filer waits 15 s for its own metadata streams to end before exiting; its volumes
    # have stopped cleanly by then and its metadata store (leveldb) survives a kill.
    for store in stores:
        if group.stop(store, timeout=5):
            stopped.append(store)
    click.echo(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@main.command()
def status() -> None:
    """Which processes run, and whether the gateway is ready."""
    group = ProcessGroup(RUN_DIR, LOG_DIR)
    names = group.names()
    if not names:
        click.echo("nothing started (make run)")
        return
    for name in names:
        pid = group.pid(name)
        click.echo(f"{name:<12} {'running  pid ' + str(pid) if pid else 'NOT RUNNING'}")
    url = gateway_url(os.environ.get("DESA_GATEWAY_BIND", "127.0.0.1:8000"))
    click.echo(f"gateway {url}/readyz: {'ready' if http_ok(url + '/readyz') else 'NOT READY'}")
    click.echo(f"services {url}/statusz: "
               f"{'all up' if http_ok(url + '/statusz') else 'NOT ALL UP'}")


if __name__ == "__main__":
    main()

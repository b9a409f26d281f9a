"""The bounded load run (issue 11): a few minutes of mixed traffic on loopback against the real
platform (gunicorn gateway, four service processes, the relay, PostgreSQL, RabbitMQ, SeaweedFS).

Workers loop over a weighted mix: staff logins, resident reads and searches, registrations,
letter requests and signings, payment postings (receipts into the cash book) and public
catalogue searches. It fails on any 5xx or transport error, on an event produced and not
consumed (or consumed twice, or parked), and on a broken audit chain. It prints latency
percentiles per operation, throughput, and the memory (RSS) of every process after warm-up and
at the end (figures are recorded in docs/reliability.md; timings are never pass/fail).

`make test-load` runs it (DESA_LOAD_SECONDS, default 120; DESA_LOAD_WORKERS, default 6).
"""
from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.faults.flow import events_applied_once, until

pytestmark = pytest.mark.load

VILLAGE = "36.04.05.2012"
YEAR = date.today().year - 1
SECONDS = float(os.environ.get("DESA_LOAD_SECONDS", "120"))
WORKERS = int(os.environ.get("DESA_LOAD_WORKERS", "6"))
WARMUP_SECONDS = min(15.0, SECONDS / 4)
SEED_RESIDENTS = 30
# Operation: weight in the mix.
MIX = {"login": 4, "resident_read": 30, "resident_search": 16, "register": 8,
       "letter_request": 8, "letter_sign": 6, "payment_posting": 10, "catalogue_search": 18}
# A process may grow while it warms up; after that the run must not add more than this.
RSS_GROWTH_LIMIT = 0.5


def person(n: int) -> dict:
    """The n-th fake resident: district 360405, born in 1990 on a day and month from n, a 9xxx
    serial (never a real NIK); the name in letters only, as the register writes names."""
    day, month, serial = 1 + n % 28, 1 + n // 28 % 12, 9000 + n // 336 % 1000
    name = "Warga Beban " + "".join("ABCDEFGHIJ"[int(digit)] for digit in str(n))
    return {"nik": f"360405{day:02d}{month:02d}90{serial:04d}", "name": name, "sex": "L",
            "birth_place": "Serang", "birth_date": f"1990-{month:02d}-{day:02d}",
            "religion": "Islam", "marital_status": "Kawin", "occupation": "Petani",
            "education": "SLTA/Sederajat", "address": {"dusun": "Dusun I", "rw": "001",
                                                       "rt": "002"}}


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants (gunicorn's workers), from /proc."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def memory(platform) -> dict[str, int]:
    return {name: rss_kib(platform.group.pid(name)) for name in platform.group.names()
            if platform.group.pid(name)}


class Load:
    """The run's accounts, data and measurements."""

    def __init__(self, platform):
        self.platform = platform
        self.credentials = {role: platform.staff_credentials(role, VILLAGE)
                            for role in ("officer", "secretary", "head", "treasurer")}
        self.tokens = {role: platform.login(*pair) for role, pair in self.credentials.items()}
        self.residents: list[str] = []
        self.checked: list[str] = []  # letters checked by the office, waiting for the head
        self.next_resident = 0
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.failures: list[str] = []
        self.income_line = ""

    def call(self, op: str, method: str, path: str, role: str | None = None,
             expect: tuple[int, ...] = (200,), **kwargs) -> requests.Response | None:
        headers = self.platform.auth(self.tokens[role]) if role else {}
        started = time.perf_counter()
        try:
            response = requests.request(method, self.platform.api(path), headers=headers,
                                        timeout=60, **kwargs)
        except requests.RequestException as exc:
            with self.lock:
                self.failures.append(f"{op}: {exc!r}")
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[op].append(elapsed)
            self.statuses[op][response.status_code] += 1
            if response.status_code >= 500 or response.status_code not in expect:
                self.failures.append(f"{op} {method} {path}: {response.status_code} "
                                     f"{response.text[:200]}")
        return response

    def new_nik(self) -> tuple[str, dict]:
        with self.lock:
            number = self.next_resident
            self.next_resident += 1
        body = person(number)
        return body["nik"], body

    # -- setup --------------------------------------------------------------------------------
    def prepare(self) -> None:
        for _ in range(SEED_RESIDENTS):
            nik, body = self.new_nik()
            self.call("setup", "POST", f"/villages/{VILLAGE}/residents", "officer",
                      expect=(201,), json=body)
            self.residents.append(nik)
        # Letters knows a resident once registry's event reached its read model.
        self._until_created("/letters", self._letter(self.residents[-1]), "letters")
        base = f"/villages/{VILLAGE}/budgets/{YEAR}"
        self.call("setup", "POST", f"/villages/{VILLAGE}/budgets", "officer", expect=(201,),
                  json={"year": YEAR})
        income = self.call("setup", "POST", f"{base}/lines", "officer", expect=(201,),
                           json={"account_code": "4.2.1", "source": "DDS",
                                 "amount": 900_000_000, "description": "Dana Desa"})
        self.call("setup", "POST", f"{base}/approve", "head", json={})
        self.income_line = income.json()["id"]
        owner = self.residents[0]
        for n, word in enumerate(("emping", "batik", "kopi")):
            body = {"owner_nik": owner, "name": f"Usaha {word.title()} Uji", "kbli": "10794",
                    "sector": "kuliner", "products": [{"name": word, "price": 30000}],
                    "workers": 1 + n, "address": {"dusun": "Dusun I", "rw": "1", "rt": "2"},
                    "status": "active"}
            self._until_created(f"/villages/{VILLAGE}/businesses", body, "potential")
        assert self.failures == [], "setup: " + "\n".join(self.failures)

    def _until_created(self, path: str, body: dict, service: str) -> None:
        """POST until 201: 404/422 while registry's events are still on their way to `service`."""
        answers = []

        def created() -> bool:
            response = requests.post(self.platform.api(path), json=body, timeout=60,
                                     headers=self.platform.auth(self.tokens["officer"]))
            answers.append(f"{response.status_code} {response.text[:300]}")
            return response.status_code == 201

        try:
            until(created, 120, f"residents reaching {service}")
        except AssertionError:
            raise AssertionError(f"{path}: {answers[-1]}") from None

    @staticmethod
    def _letter(nik: str) -> dict:
        return {"type_code": "domisili", "purpose": "Uji beban", "fields": {},
                "subject_nik": nik}

    # -- the operations ----------------------------------------------------------------------
    def login(self) -> None:
        role = random.choice(list(self.credentials))
        username, password = self.credentials[role]
        self.call("login", "POST", "/auth/login", json={"username": username,
                                                        "password": password})

    def resident_read(self) -> None:
        self.call("resident_read", "GET", f"/residents/{random.choice(self.residents)}",
                  "officer")

    def resident_search(self) -> None:
        word = random.choice(("warga", "beban", "warga beban", "bac"))
        self.call("resident_search", "GET", f"/villages/{VILLAGE}/residents",
                  "officer", params={"q": word})

    def register(self) -> None:
        nik, body = self.new_nik()
        response = self.call("register", "POST", f"/villages/{VILLAGE}/residents", "officer",
                             expect=(201,), json=body)
        if response is not None and response.status_code == 201:
            with self.lock:
                self.residents.append(nik)

    def letter_request(self) -> None:
        response = self.call("letter_request", "POST", "/letters", "officer", expect=(201,),
                             json=self._letter(random.choice(self.residents[:SEED_RESIDENTS])))
        if response is None or response.status_code != 201:
            return
        letter_id = response.json()["id"]
        checked = self.call("letter_check", "POST", f"/letters/{letter_id}/check", "officer")
        if checked is not None and checked.status_code == 200:
            with self.lock:
                self.checked.append(letter_id)

    def letter_sign(self) -> None:
        with self.lock:
            letter_id = self.checked.pop(0) if self.checked else None
        if letter_id is None:
            return self.letter_request()
        self.call("letter_sign", "POST", f"/letters/{letter_id}/sign", "head")
        return None

    def payment_posting(self) -> None:
        self.call("payment_posting", "POST", f"/villages/{VILLAGE}/receipts", "treasurer",
                  expect=(201,), json={"date": f"{YEAR}-02-03", "line_id": self.income_line,
                                       "amount": 10_000, "description": "Retribusi pasar",
                                       "method": "cash"})

    def catalogue_search(self) -> None:
        self.call("catalogue_search", "GET", "/public/search",
                  params={"q": random.choice(("emping", "batik", "kopi", "usaha"))})

    # -- the run -------------------------------------------------------------------------------
    def run(self, seconds: float, on_warm) -> float:
        operations = [getattr(self, op) for op in MIX]
        weights = list(MIX.values())
        stop = threading.Event()

        def worker(seed: int) -> None:
            chooser = random.Random(seed)
            while not stop.is_set():
                chooser.choices(operations, weights)[0]()

        threads = [threading.Thread(target=worker, args=(n,), daemon=True)
                   for n in range(WORKERS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(WARMUP_SECONDS)
        on_warm()
        time.sleep(max(0.0, seconds - WARMUP_SECONDS))
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        return time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(load: Load, elapsed: float, before: dict, after: dict, events: dict,
           audit: str) -> str:
    lines = [f"load run: {elapsed:.0f} s, {WORKERS} workers, "
             f"{sum(len(v) for k, v in load.latencies.items() if k != 'setup')} requests",
             f"{'operation':<18}{'count':>7}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}"
             f"{'p99 ms':>9}{'max ms':>9}  statuses"]
    for op, values in sorted(load.latencies.items()):
        if op == "setup":
            continue
        ms = [v * 1000 for v in values]
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(load.statuses[op].items()))
        lines.append(f"{op:<18}{len(ms):>7}{len(ms) / elapsed:>8.1f}"
                     f"{statistics.median(ms):>9.1f}{percentile(ms, 0.95):>9.1f}"
                     f"{percentile(ms, 0.99):>9.1f}{max(ms):>9.1f}  {statuses}")
    lines.append(f"{'process':<18}{'RSS start MiB':>14}{'RSS end MiB':>13}{'growth':>8}")
    for name in sorted(before):
        start, end = before[name] / 1024, after.get(name, 0) / 1024
        lines.append(f"{name:<18}{start:>14.1f}{end:>13.1f}{(end - start) / start:>8.1%}")
    lines.append("events applied per consumer: " + ", ".join(
        f"{handler} {count}" for handler, count in sorted(events.items())))
    lines.append("audit: " + " | ".join(audit.strip().splitlines()))
    return "\n".join(lines)


@pytest.mark.timeout(SECONDS + 900)
def test_mixed_load_without_errors_lost_events_or_growing_memory(platform):
    load = Load(platform)
    load.prepare()
    warm: dict[str, dict[str, int]] = {}
    elapsed = load.run(SECONDS, lambda: warm.setdefault("rss", memory(platform)))
    end = memory(platform)
    events = events_applied_once(platform, timeout=180)
    audit = platform.desa("audit", "verify").stdout
    print("\n" + report(load, elapsed, warm["rss"], end, events, audit))

    assert load.failures == [], "\n".join(load.failures[:20])
    assert all(load.latencies[op] for op in MIX if op != "letter_request"), \
        "every operation of the mix ran"
    assert "BROKEN" not in audit
    grown = {name: (warm["rss"][name], end[name]) for name in warm["rss"]
             if end.get(name, 0) > warm["rss"][name] * (1 + RSS_GROWTH_LIMIT)}
    assert grown == {}, f"memory grew by more than {RSS_GROWTH_LIMIT:.0%} after warm-up"

"""A mixed flow through the gateway (residents, letters, payments) that keeps going while the
test kills broker nodes or service processes, and the checks of what it left behind."""
from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import requests
import sqlalchemy as sa

from services.common.tables import dead_letters, inbox, outbox
from services.common.topology import all_subscriptions

VILLAGE = "36.04.05.2011"
YEAR = date.today().year - 1  # every date of last year's budget is in the past
RETRY_STATUSES = {502, 503, 504}
REQUEST_TIMEOUT = 30.0  # an answer later than this is a hang (the gateway's RPC timeout is 10 s)


def staff(platform, village: str) -> dict[str, str]:
    """A logged-in officer, secretary, head and treasurer of `village`."""
    tokens = {}
    for role in ("officer", "secretary", "head", "treasurer"):
        suffix = village.replace(".", "")
        username, password = f"flt.{role}.{suffix}", f"pw-faults-{role}-Str0ng!"
        platform.create_account(role, username, password, village)
        tokens[role] = platform.login(username, password)
    return tokens


def fake_nik(i: int) -> str:
    """Fake but valid in form: district 360405, born (1 + i % 28)-01-1990, serial 9000 + i."""
    return f"360405{1 + i % 28:02d}0190{9000 + i:04d}"


def person(i: int) -> dict:
    # Names are written as the population register writes them: letters, no digits.
    name = "Warga Uji " + "".join("ABCDEFGHIJ"[int(digit)] for digit in str(i))
    return {"nik": fake_nik(i), "name": name, "sex": "L", "birth_place": "Serang",
            "birth_date": f"1990-01-{1 + i % 28:02d}", "religion": "Islam",
            "marital_status": "Kawin", "occupation": "Petani", "education": "SLTA/Sederajat",
            "address": {"dusun": "Dusun I", "rw": "001", "rt": "002"}}


@dataclass
class Outcomes:
    residents: list[str] = field(default_factory=list)  # NIKs known registered
    letters: list[str] = field(default_factory=list)  # subjects with a letter answered 201
    paid: list[str] = field(default_factory=list)  # payment request ids known paid
    unavailable: int = 0  # answers 502/503/504 or no answer, retried
    other: list[tuple] = field(default_factory=list)  # anything unexpected
    server_errors: list[tuple] = field(default_factory=list)  # other 5xx (a 500 is a bug)
    no_retry_after: list[tuple] = field(default_factory=list)  # a 503 without Retry-After
    hung: list[tuple] = field(default_factory=list)  # no answer within REQUEST_TIMEOUT


class MixedFlow:
    """Each round registers a resident, requests a letter about them (once the resident event
    reached letters) and takes one payment request through verify, approve and pay."""

    def __init__(self, platform, first: int, payment_requests: list[str], tokens: dict,
                 village: str = VILLAGE):
        self.platform = platform
        self.village = village
        self.next = first
        self.payment_requests = list(payment_requests)
        self.tokens = tokens
        self.out = Outcomes()
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mixed-flow", daemon=True)

    # -- HTTP with retries ---------------------------------------------------------------------
    def _call(self, method: str, path: str, role: str, *, done_if: set[int] = frozenset(),
              retry_if: set[int] = frozenset(), once: bool = False, timeout: float = 120.0,
              **kwargs):
        """Retry while the platform is unavailable (or the answer is in `retry_if`). A status in
        `done_if` counts as success only after an unanswered try: the first try may have acted
        before its answer was lost (a state change the repeat finds already made). `once`: a
        call that may have acted is not repeated (None: unknown whether it did)."""
        deadline = time.monotonic() + timeout
        uncertain = False
        while True:
            try:
                response = requests.request(method, self.platform.api(path),
                                            timeout=REQUEST_TIMEOUT,
                                            headers=self.platform.auth(self.tokens[role]),
                                            **kwargs)
            except requests.Timeout:
                self.out.hung.append((method, path))
                response = None
            except requests.RequestException:
                response = None
            if response is not None and response.status_code >= 500:
                if response.status_code not in RETRY_STATUSES:
                    self.out.server_errors.append((method, path, response.status_code,
                                                   response.text[:300]))
                elif response.status_code == 503 and "Retry-After" not in response.headers:
                    self.out.no_retry_after.append((method, path, response.text[:300]))
            if response is not None and response.status_code < 500 and \
                    response.status_code not in retry_if:
                if uncertain and response.status_code in done_if:
                    return None
                return response
            if response is None or response.status_code in RETRY_STATUSES:
                self.out.unavailable += 1
                uncertain = True
                if once:
                    return None
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path}: still failing after {timeout}s: "
                                     f"{response and response.status_code}")
            time.sleep(0.5)

    def round(self, i: int) -> None:
        nik = fake_nik(i)
        response = self._call("POST", f"/villages/{self.village}/residents", "officer",
                              json=person(i), done_if={409})
        if response is None or response.status_code == 201:
            self.out.residents.append(nik)
        else:
            self.out.other.append(("resident", nik, response.status_code, response.text))
        letter = {"type_code": "domisili", "purpose": f"Uji klaster {i}", "fields": {},
                  "subject_nik": nik}
        # 404 until registry's resident.registered event reached letters' read model. A letter
        # whose answer was lost is not asked again (that would be a second letter).
        response = self._call("POST", "/letters", "officer", json=letter, retry_if={404},
                              once=True)
        if response is not None and response.status_code == 201:
            self.out.letters.append(nik)
        if self.payment_requests:
            request_id = self.payment_requests.pop(0)
            for step, role, body in (("verify", "secretary", {}), ("approve", "head", {}),
                                     ("pay", "treasurer",
                                      {"date": f"{YEAR}-03-02", "method": "bank"})):
                # 409 after a lost answer: the step was taken (a state machine cannot repeat it).
                response = self._call("POST", f"/payment-requests/{request_id}/{step}", role,
                                      json=body, done_if={409})
                if response is not None and response.status_code != 200:
                    self.out.other.append((step, request_id, response.status_code,
                                           response.text))
                    break
            else:
                self.out.paid.append(request_id)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.round(self.next)
            except Exception as exc:  # noqa: BLE001 - reported by the test through `other`
                self.out.other.append(("round", self.next, repr(exc)))
            self.next += 1
            self.rounds += 1

    def start(self) -> MixedFlow:
        self._thread.start()
        return self

    def wait_rounds(self, count: int, timeout: float = 300.0) -> None:
        target = self.rounds + count
        deadline = time.monotonic() + timeout
        while self.rounds < target:
            assert self._thread.is_alive() or self.rounds >= target
            assert time.monotonic() < deadline, f"only {self.rounds} rounds of {target}"
            time.sleep(0.2)

    def stop(self) -> Outcomes:
        self._stop.set()
        self._thread.join(timeout=300)
        assert not self._thread.is_alive(), "the flow did not finish its round"
        return self.out


def payment_requests(platform, tokens: dict, count: int, village: str = VILLAGE) -> list[str]:
    """An approved budget with money received, and `count` submitted payment requests."""
    def post(role: str, path: str, body: dict, expect: int = 201) -> dict:
        response = requests.post(platform.api(path), json=body, timeout=60,
                                 headers=platform.auth(tokens[role]))
        assert response.status_code == expect, (path, response.text)
        return response.json()

    post("officer", f"/villages/{village}/budgets", {"year": YEAR})
    base = f"/villages/{village}/budgets/{YEAR}"
    income = post("officer", f"{base}/lines", {"account_code": "4.2.1", "source": "DDS",
                                               "amount": 100_000_000, "description": "Dana Desa"})
    spending = post("officer", f"{base}/lines", {
        "account_code": "5.2.4", "activity_code": "01.04.01", "source": "DDS",
        "amount": 50_000_000, "description": "Sewa tenda"})
    post("head", f"{base}/approve", {}, expect=200)
    post("treasurer", f"/villages/{village}/receipts", {
        "date": f"{YEAR}-02-03", "line_id": income["id"], "amount": 40_000_000,
        "description": "Dana Desa tahap I", "method": "bank"})
    return [post("officer", f"/villages/{village}/payment-requests", {
        "line_id": spending["id"], "kind": "LS", "amount": 100_000, "payee": f"CV Uji {i}",
        "description": f"Sewa tenda {i}"})["id"] for i in range(count)]


def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def engine_of(platform, service: str) -> sa.Engine:
    return sa.create_engine(platform.env["DESA_DATABASE_URL_TEMPLATE"].format(service=service),
                            poolclass=sa.pool.NullPool)


def events_applied_once(platform, timeout: float = 120.0) -> dict[str, int]:
    """Wait until every event a service emitted that some service consumes has been applied
    by each of its consumers, then check none was lost and none parked. Returns how many
    (event, handler) pairs were applied."""
    by_source: dict[str, list] = {}
    for sub in all_subscriptions():
        by_source.setdefault(sub.source, []).append(sub)
    applied: dict[str, int] = {}
    for source, subs in by_source.items():
        with engine_of(platform, source).connect() as conn:
            until(lambda c=conn: c.scalar(sa.select(sa.func.count()).select_from(outbox)
                                          .where(outbox.c.sent_at.is_(None))) == 0,
                  timeout, f"{source}'s outbox to drain")
            emitted = conn.execute(sa.select(outbox.c.event_id, outbox.c.type)).all()
        for sub in subs:
            handler = f"{sub.service}.{sub.method}"
            expected = {str(row.event_id) for row in emitted if row.type == sub.event_type}
            with engine_of(platform, sub.service).connect() as conn:
                def seen(c=conn, h=handler):
                    rows = c.execute(sa.select(inbox.c.event_id).where(inbox.c.handler == h))
                    return {str(r.event_id) for r in rows}
                until(lambda e=expected, s=seen: e <= s(), timeout, f"{handler} applying")
                assert seen() == expected, f"{handler} applied events nobody emitted"
                parked = conn.scalar(sa.select(sa.func.count()).select_from(dead_letters))
                assert parked == 0, f"{sub.service} parked events"
            applied[handler] = len(expected)
    return applied


def duplicates(values: list) -> list:
    return [value for value, count in Counter(values).items() if count > 1]


def clean_answers(out: Outcomes) -> None:
    """Nothing unexpected: no 500 (or other undeclared 5xx), no request left hanging, every 503
    with Retry-After, no round that failed."""
    assert out.other == [], out.other
    assert out.server_errors == [], out.server_errors
    assert out.hung == [], out.hung
    assert out.no_retry_after == [], out.no_retry_after


def nothing_doubled(platform, out: Outcomes) -> None:
    """At most one letter per subject (every one answered 201 there), and one cash entry per
    payment request paid."""
    assert duplicates(out.residents) == [] and duplicates(out.paid) == []
    with engine_of(platform, "letters").connect() as conn:
        per_subject = dict(conn.execute(sa.text(
            "SELECT subject_nik, count(*) FROM letters GROUP BY subject_nik")).all())
    assert max(per_subject.values(), default=1) == 1
    assert all(per_subject.get(nik) == 1 for nik in out.letters)
    with engine_of(platform, "finance").connect() as conn:
        entries = dict(conn.execute(sa.text(
            "SELECT payment_request_id::text, count(*) FROM cash_entries"
            " WHERE payment_request_id IS NOT NULL AND kind = 'payment'"
            " GROUP BY payment_request_id")).all())
    assert all(entries.get(request_id) == 1 for request_id in out.paid), entries
    assert max(entries.values(), default=1) == 1

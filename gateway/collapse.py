"""Request collapsing: concurrent calls of one service method go out as one batch RPC.

A gunicorn worker's threads that call the same collapsed method (`collapsed("registry",
"get_residents")`) at the same time share one RPC instead of making one each (the request
collapser of Hystrix, DataLoader's batching; decision 0101). No timer holds a call back:

- a thread that finds no batch in flight sends at once, on its own pooled proxy, a batch of
  whatever is waiting (its own item, usually alone when the gateway is idle): the *leader*;
- a thread that finds a batch in flight queues its item and waits; when the leader's batch is
  answered, the leader hands the lead to the oldest waiting thread, which sends everything that
  queued meanwhile (up to `max_batch` items) as the next batch ("smart batching").

So a lone call pays nothing, and under load each in-flight round trip carries every call that
arrived during the previous one. Every RPC goes through the sending thread's own proxy of the
RpcPool (gateway/rpc.py), so a batch never waits for another thread's proxy: while a thread
leads, the others only wait for its answer or for the lead.

Each item keeps its caller's deadline (the batch carries the latest of them, and the service
checks each item's own, services/common/batch.py); a caller whose deadline passes while it waits
gets the same 503 as a call of its own that timed out. Each item's answer is its own: a result,
or its own error raised in its own thread (a 404 for one read does not fail the others); an
error of the batch call itself (the service not running, a timeout) is every item's error.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g

from gateway.errors import ServiceUnavailable
from gateway.rpc import REPLY_GRACE_SECONDS, RpcPool
from services.common import batch

log = logging.getLogger(__name__)

# The most items one batch carries (a gunicorn worker has 8 threads: rarely reached).
MAX_BATCH = 64


@dataclass(eq=False)
class _Call:
    """One caller's item, waiting for its answer or for the lead."""

    item: dict
    request_id: str | None
    deadline: float  # time.time(): sent with the item
    wait_until: float  # time.monotonic(): when its caller stops waiting
    event: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # set (under the lock) when this caller is to send the next batch
    done: bool = False
    result: Any = None
    error: BaseException | None = None

    def answer(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True
        self.event.set()

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class CollapseStats:
    """What a collapser sent: batches, items in them, the largest."""

    batches: int = 0
    items: int = 0
    largest: int = 0


class Collapser:
    """Collapses concurrent calls of `service.method` (a batch method: a list of items in, a
    list of answers out, services/common/batch.py) into batch calls through `pool`."""

    def __init__(self, pool: RpcPool, service: str, method: str, *,
                 max_batch: int = MAX_BATCH):
        self.pool = pool
        self.service = service
        self.method = method
        self.max_batch = max_batch
        self.stats = CollapseStats()
        self._lock = threading.Lock()
        self._waiting: deque[_Call] = deque()
        self._sending = False  # a leader is sending (or about to send) a batch

    def call(self, item: dict, *, request_id: str | None = None,
             timeout: float | None = None) -> Any:
        """`item`'s answer from the batch it went out in; its own error raised."""
        timeout = timeout or self.pool.timeout
        call = _Call(item, request_id, time.time() + timeout,
                     time.monotonic() + timeout + REPLY_GRACE_SECONDS)
        with self._lock:
            self._waiting.append(call)
            if not self._sending:
                self._sending = call.lead = True
        if not call.lead:
            self._wait(call)
        if call.lead:
            self._lead(call)
        return call.outcome()

    def _wait(self, call: _Call) -> None:
        """Until `call` is answered, or is given the lead, or its caller stops waiting."""
        while not call.event.wait(max(call.wait_until - time.monotonic(), 0)):
            with self._lock:
                if call.done or call.lead:
                    return
                # Not waiting any more means it is in a batch in flight: its answer comes late.
                with contextlib.suppress(ValueError):
                    self._waiting.remove(call)
            log.warning("collapsed rpc call timed out waiting", extra={
                "target": f"{self.service}.{self.method}"})
            call.answer(error=ServiceUnavailable(f"{self.service} did not answer in time."))
            return

    def _lead(self, call: _Call) -> None:
        """Send batches of the waiting calls until `call`'s own is answered, then hand the lead
        to the oldest waiting call (or give it up when none waits)."""
        try:
            while not call.done:
                with self._lock:
                    taken = [self._waiting.popleft()
                             for _ in range(min(self.max_batch, len(self._waiting)))]
                if not taken:  # cannot happen while `call` is unanswered; never spin
                    call.answer(error=RuntimeError("collapsed call lost from its queue"))
                    break
                self._send(taken)
        finally:
            with self._lock:
                if self._waiting:
                    heir = self._waiting[0]
                    heir.lead = True
                    heir.event.set()
                else:
                    self._sending = False

    def _send(self, calls: list[_Call]) -> None:
        now = time.time()
        live = []
        for call in calls:
            if call.deadline <= now:  # its caller's deadline passed while it queued
                call.answer(error=ServiceUnavailable(f"{self.service} did not answer in time."))
            else:
                live.append(call)
        if not live:
            return
        deadline = max(call.deadline for call in live)
        items = [{**call.item, "request_id": call.request_id, "deadline": call.deadline}
                 for call in live]
        with self._lock:
            self.stats.batches += 1
            self.stats.items += len(live)
            self.stats.largest = max(self.stats.largest, len(live))
        try:
            answers = self.pool.call(self.service, self.method, (items,), {},
                                     request_id=live[0].request_id,
                                     timeout=max(deadline - time.time(), 0.001))
            if not isinstance(answers, list) or len(answers) != len(live):
                raise ValueError(f"{self.service}.{self.method} answered {len(live)} items "
                                 f"with {answers!r:.200}")
        except Exception as exc:  # noqa: BLE001 - every caller gets the batch's error
            for call in live:
                call.answer(error=_own_copy(exc))
            return
        for call, answer in zip(live, answers, strict=True):
            try:
                call.answer(result=batch.result_of(answer))
            except Exception as exc:  # noqa: BLE001 - the item's own error, raised by its caller
                call.answer(error=exc)


def _own_copy(exc: Exception) -> Exception:
    """A copy of `exc` for one caller (an exception object raised in several threads at once
    would share one traceback)."""
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001 - an exception that cannot be copied is shared
        return exc


_collapsers_lock = threading.Lock()


def collapser(pool: RpcPool, service: str, method: str) -> Collapser:
    """The pool's collapser of `service.method`, made on first use."""
    with _collapsers_lock:
        found = pool.collapsers.get((service, method))
        if found is None:
            found = pool.collapsers[(service, method)] = Collapser(pool, service, method)
        return found


def collapsed(service: str, method: str, item: dict, timeout: float | None = None) -> Any:
    """`item`'s answer from `service.method` (a batch method), sent with whatever other
    threads of this gateway process ask of it at the same time; inside a request."""
    pool: RpcPool = current_app.extensions["desa"]["rpc"]
    return collapser(pool, service, method).call(item, request_id=g.get("request_id"),
                                                 timeout=timeout)

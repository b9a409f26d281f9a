"""The pool's retry rule with hand-written fake proxies: a request that never left is sent once
more on a rebuilt proxy; a request that left is never sent twice."""
from __future__ import annotations

import time

import pytest
from nameko.exceptions import RpcTimeout, UnknownService

from gateway import rpc
from gateway.errors import ServiceUnavailable
from services.common.config import Settings


class FakeReply:
    def __init__(self, outcome):
        self.outcome = outcome

    def result(self):
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeHandle:
    """Stands in for a started proxy; `script` says what each send does."""

    made: list[FakeHandle] = []
    script: list = []
    consumers: dict = {}

    def __init__(self, config: dict, timeout: float):
        self.timeout = timeout
        self.context_data: dict = {}
        self.sent: list = []
        self.expirations: list = []
        self.waited_until: list = []
        self.stopped = False
        FakeHandle.made.append(self)

    def has_consumers(self, service: str) -> bool:
        return FakeHandle.consumers.get(service, 1) > 0

    def send(self, service: str, method: str, args: tuple, kwargs: dict, expiration: float):
        context = {k: v for k, v in self.context_data.items() if k != "deadline"}
        self.sent.append((method, args, context))
        self.expirations.append(expiration)
        outcome = FakeHandle.script.pop(0)
        if isinstance(outcome, tuple) and outcome[0] == "raise-on-send":
            raise outcome[1]
        return outcome if isinstance(outcome, FakeReply) else FakeReply(outcome)

    def wait(self, reply, until: float):
        self.waited_until.append(until - time.monotonic())
        return reply.result()

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def pool(monkeypatch):
    FakeHandle.made, FakeHandle.script, FakeHandle.consumers = [], [], {}
    monkeypatch.setattr(rpc, "_Handle", FakeHandle)
    return rpc.RpcPool(Settings())


def test_proxy_is_built_once_and_reused(pool):
    FakeHandle.script = ["a", "b", "c"]
    assert [pool.call("registry", "ping", (), {}) for _ in range(3)] == ["a", "b", "c"]
    assert len(FakeHandle.made) == 1 and pool.open_proxies == 1


def test_request_that_never_left_is_sent_once_more_on_a_new_proxy(pool):
    FakeHandle.script = [("raise-on-send", ConnectionResetError()), "answer"]
    assert pool.call("registry", "ping", (), {}, request_id="r1") == "answer"
    broken, fresh = FakeHandle.made
    assert broken.stopped and not fresh.stopped
    assert fresh.sent == [("ping", (), {"request_id": "r1"})]
    assert pool.open_proxies == 1


def test_broker_down_twice_is_503(pool):
    FakeHandle.script = [("raise-on-send", ConnectionRefusedError())] * 2
    with pytest.raises(ServiceUnavailable, match="broker"):
        pool.call("registry", "ping", (), {})
    assert all(handle.stopped for handle in FakeHandle.made)
    assert pool.open_proxies == 0


def test_request_that_left_is_never_sent_twice(pool):
    FakeHandle.script = [RuntimeError("This consumer has been disconnected"), "never used"]
    with pytest.raises(ServiceUnavailable):
        pool.call("registry", "register_resident", ("36.04.05.2001", {}, {}), {})
    (handle,) = FakeHandle.made
    assert len(handle.sent) == 1 and handle.stopped
    assert pool.open_proxies == 0


def test_timeout_is_503_and_keeps_the_proxy(pool):
    FakeHandle.script = [RpcTimeout(10), "later"]
    with pytest.raises(ServiceUnavailable, match="in time"):
        pool.call("registry", "ping", (), {})
    assert pool.call("registry", "ping", (), {}) == "later"
    assert len(FakeHandle.made) == 1


def test_unknown_service_is_503_without_retry(pool):
    FakeHandle.script = [("raise-on-send", UnknownService("registry"))]
    with pytest.raises(ServiceUnavailable, match="not running"):
        pool.call("registry", "ping", (), {})
    assert len(FakeHandle.made) == 1


def test_the_timeout_is_the_message_expiry_and_the_deadline(pool):
    FakeHandle.script = ["ok", "ok"]
    before = time.time()
    pool.call("registry", "ping", (), {}, timeout=0.5)
    handle = FakeHandle.made[0]
    deadline = handle.context_data["deadline"]
    assert before + 0.5 <= deadline <= time.time() + 0.5
    assert 0.4 < handle.expirations[0] <= 0.5
    # The reply is awaited a little past the deadline: a commit just in time is not a failure.
    assert 0.5 < handle.waited_until[0] <= 0.5 + rpc.REPLY_GRACE_SECONDS
    pool.call("registry", "ping", (), {})
    assert handle.expirations[1] == pytest.approx(Settings().rpc_timeout_seconds, abs=0.1)


def test_a_service_without_consumers_is_503_and_nothing_is_sent(pool):
    FakeHandle.consumers = {"letters": 0}
    with pytest.raises(ServiceUnavailable, match="not running") as refused:
        pool.call("letters", "request_letter", ({},), {})
    assert refused.value.retry_after_seconds > 0
    assert FakeHandle.made[0].sent == []


def test_idempotency_key_is_set_per_call_and_cleared(pool):
    FakeHandle.script = ["a", "b"]
    pool.call("registry", "ping", (), {}, idempotency_key="key-1:1")
    pool.call("registry", "ping", (), {})
    assert [sent[2] for sent in FakeHandle.made[0].sent] == [{"idempotency_key": "key-1:1"}, {}]


def test_request_id_is_set_per_call_and_cleared(pool):
    FakeHandle.script = ["a", "b"]
    pool.call("registry", "ping", (), {}, request_id="first")
    pool.call("registry", "ping", (), {})
    assert [sent[2] for sent in FakeHandle.made[0].sent] == [{"request_id": "first"}, {}]


class CountingConsumer:
    """The reply consumer's broker question, answered from `answers` and counted."""

    def __init__(self, *answers: int):
        self.answers = list(answers)
        self.asked = 0

    def consumers_of(self, queue: str) -> int:
        self.asked += 1
        return self.answers.pop(0)


def bare_handle(consumer: CountingConsumer) -> rpc._Handle:
    handle = object.__new__(rpc._Handle)  # no broker: only the consumer check is exercised
    handle.consumer, handle._consumers_seen = consumer, {}
    return handle


def test_a_service_seen_consumed_is_not_asked_about_again_for_a_moment(monkeypatch):
    consumer = CountingConsumer(1, 1)
    handle = bare_handle(consumer)
    assert handle.has_consumers("registry") and handle.has_consumers("registry")
    assert consumer.asked == 1
    monkeypatch.setattr(rpc, "CONSUMERS_SEEN_SECONDS", 0.0)
    assert handle.has_consumers("registry")
    assert consumer.asked == 2


def test_a_service_without_consumers_is_asked_about_every_time():
    consumer = CountingConsumer(0, 0, 2)
    handle = bare_handle(consumer)
    assert not handle.has_consumers("letters")
    assert not handle.has_consumers("letters")
    assert handle.has_consumers("letters")
    assert consumer.asked == 3

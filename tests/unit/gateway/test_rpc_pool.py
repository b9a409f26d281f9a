"""The pool's retry rule with hand-written fake proxies: a request that never left is sent once
more on a rebuilt proxy; a request that left is never sent twice."""
from __future__ import annotations

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
    """Stands in for a started ClusterRpcProxy; `script` says what each send does."""

    made: list[FakeHandle] = []
    script: list = []

    def __init__(self, config: dict, timeout: float):
        self.timeout = timeout
        self.waits_with = timeout
        self.context_data: dict = {}
        self.sent: list = []
        self.stopped = False
        self.cluster = {"registry": self}
        FakeHandle.made.append(self)

    def __getattr__(self, method: str):
        def call_async(*args, **kwargs):
            self.sent.append((method, args, dict(self.context_data)))
            outcome = FakeHandle.script.pop(0)
            if isinstance(outcome, tuple) and outcome[0] == "raise-on-send":
                raise outcome[1]
            return outcome if isinstance(outcome, FakeReply) else FakeReply(outcome)

        return type("Method", (), {"call_async": staticmethod(call_async)})()

    def set_timeout(self, timeout: float) -> None:
        self.waits_with = timeout

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def pool(monkeypatch):
    FakeHandle.made, FakeHandle.script = [], []
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


def test_per_call_timeout_is_used_then_restored(pool):
    waited = []

    class WatchingReply(FakeReply):
        def result(self):
            waited.append(FakeHandle.made[0].waits_with)
            return "ok"

    FakeHandle.script = [WatchingReply("ok")]
    pool.call("registry", "ping", (), {}, timeout=0.5)
    assert waited == [0.5]
    assert FakeHandle.made[0].waits_with == Settings().rpc_timeout_seconds


def test_request_id_is_set_per_call_and_cleared(pool):
    FakeHandle.script = ["a", "b"]
    pool.call("registry", "ping", (), {}, request_id="first")
    pool.call("registry", "ping", (), {})
    assert [sent[2] for sent in FakeHandle.made[0].sent] == [{"request_id": "first"}, {}]

"""The gateway's pooled RPC proxies against the real broker and a real nameko container."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from nameko.rpc import rpc

from gateway.errors import ServiceUnavailable
from gateway.rpc import RpcPool, services
from services.common.config import get_settings
from services.common.errors import NotFound
from services.common.logs import RequestContext
from tests.support.infrastructure import rabbitmqctl


class Echo:
    name = "gateway_echo"
    request_id = RequestContext()

    @rpc
    def whoami(self) -> dict:
        return {"request_id": self.request_id}

    @rpc
    def slow(self, seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    @rpc
    def missing(self) -> None:
        raise NotFound("No such thing.")


@pytest.fixture
def echo(container_factory, nameko_config):
    container = container_factory(Echo, nameko_config)
    container.start()
    return container


@pytest.fixture
def pool(migrated):
    pool = RpcPool(replace(get_settings(), rpc_timeout_seconds=5))
    yield pool
    pool.close_all()


def test_one_long_lived_proxy_per_thread_is_reused(echo, pool):
    for _ in range(5):
        pool.call("gateway_echo", "whoami", (), {})
    assert pool.open_proxies == 1
    first = pool._local.handle

    seen = []

    def other_thread():
        pool.call("gateway_echo", "whoami", (), {})
        seen.append((pool._local.handle is not first, pool.open_proxies))

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen == [(True, 2)]
    assert pool._local.handle is first
    # The ended thread's proxy went with it: no connection left behind.
    assert pool.open_proxies == 1


def test_request_id_reaches_the_service_per_call(echo, pool):
    assert pool.call("gateway_echo", "whoami", (), {}, request_id="req-1") == {
        "request_id": "req-1"}
    assert pool.call("gateway_echo", "whoami", (), {}, request_id="req-2") == {
        "request_id": "req-2"}
    assert pool.call("gateway_echo", "whoami", (), {}) == {"request_id": None}


def test_service_errors_cross_as_themselves(echo, pool):
    with pytest.raises(NotFound, match="No such thing"):
        pool.call("gateway_echo", "missing", (), {})


def test_timeout_is_503_and_the_proxy_keeps_working(echo, pool):
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        pool.call("gateway_echo", "slow", (3,), {}, timeout=0.5)
    assert time.monotonic() - started < 2.5
    assert pool.call("gateway_echo", "slow", (0,), {}) == "done"


def test_unknown_service_is_503(migrated, pool):
    with pytest.raises(ServiceUnavailable, match="not running"):
        pool.call("no_such_service", "ping", (), {})


def test_broker_dropping_connections_is_survived(echo, pool, infra):
    assert pool.call("gateway_echo", "whoami", (), {}, request_id="before")
    rabbitmqctl("close_all_connections", "-p", infra.vhost, "test: broker blip")
    # The broken proxy answers 503 at most once; then a rebuilt one serves the call.
    answers = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            answers.append(pool.call("gateway_echo", "whoami", (), {}, request_id="after"))
            break
        except ServiceUnavailable as exc:
            answers.append(exc)
            time.sleep(0.5)  # the service container reconnects on its own schedule
    assert answers[-1] == {"request_id": "after"}, answers
    assert pool.open_proxies == 1


def test_the_http_request_id_is_what_services_receive(echo, app_factory):
    app = app_factory()
    with app.test_request_context("/", headers={"X-Request-ID": "from-the-client-42"}):
        app.preprocess_request()
        assert services().gateway_echo.whoami() == {"request_id": "from-the-client-42"}

"""A reply that comes after its call timed out must not break the pooled proxy (issue 7, item
15), on a private RabbitMQ node whose consumer timeout is 2 s instead of 30 minutes.

Before: the late reply stayed unacknowledged in the proxy's reply consumer, the broker closed
that channel when its consumer timeout ran out, and the next call through the proxy failed with
503 (`PRECONDITION_FAILED - delivery acknowledgement on channel 2 timed out`).
"""
from __future__ import annotations

import time
from dataclasses import replace

import pytest
from amqp.exceptions import ChannelError

from gateway.errors import ServiceUnavailable
from gateway.rpc import RpcPool
from services.common.config import get_settings
from services.common.entrypoints import rpc
from tests.support.broker import PrivateBroker

CONSUMER_TIMEOUT_MS = 2000


class LateReplier:
    name = "late_replier"

    @rpc
    def slow(self, seconds: float) -> str:
        time.sleep(seconds)
        return "done"

    @rpc
    def hello(self) -> str:
        return "hello"


@pytest.fixture(scope="module")
def private_broker():
    broker = PrivateBroker(consumer_timeout_ms=CONSUMER_TIMEOUT_MS).start()
    yield broker
    broker.stop()


@pytest.fixture
def late_replier(container_factory, private_broker):
    config = {**get_settings().nameko_config(), "AMQP_URI": private_broker.amqp_uri}
    container = container_factory(LateReplier, config)
    container.start()
    return container


@pytest.fixture
def pool(private_broker):
    pool = RpcPool(replace(get_settings(), amqp_uri=private_broker.amqp_uri,
                           rpc_timeout_seconds=5))
    yield pool
    pool.close_all()


def test_the_broker_consumer_timeout_is_short_here(private_broker):
    assert f"{CONSUMER_TIMEOUT_MS}" in private_broker.ctl(
        "eval", "application:get_env(rabbit, consumer_timeout).")


def test_a_late_reply_does_not_break_the_pooled_proxy(late_replier, pool):
    assert pool.call("late_replier", "hello", (), {}) == "hello"
    handle = pool._local.handle
    with pytest.raises(ServiceUnavailable, match="in time"):
        pool.call("late_replier", "slow", (1.5,), {}, timeout=0.5)
    # The reply arrives about 1 s later; the thread then sits idle for longer than the broker's
    # consumer timeout plus its check interval, as a gateway thread does between requests.
    time.sleep(1.0 + CONSUMER_TIMEOUT_MS / 1000 + 3.0)
    assert pool.call("late_replier", "hello", (), {}) == "hello"
    assert pool._local.handle is handle  # the same proxy served it: nothing was rebuilt


def test_a_reply_channel_closed_by_the_broker_is_consumed_again(late_replier, pool):
    assert pool.call("late_replier", "hello", (), {}) == "hello"
    handle = pool._local.handle
    channel = handle.standalone._reply_listener.queue_consumer.consumer.channel
    # Any channel error makes the broker close the channel, and with it the reply consumer.
    with pytest.raises(ChannelError):
        channel.queue_declare(queue="no-such-queue-here", passive=True)
    assert pool.call("late_replier", "hello", (), {}) == "hello"
    assert pool._local.handle is handle

"""RabbitMQ topology, declared before anything publishes (ARCHITECTURE rule 4).

Event exchanges are `<service>.events` (topic), as nameko names them; each consumer's queue is
named and bound exactly as nameko's `event_handler` would declare it, so the declare step at
deploy time and the consumer at start-up agree. Each exchange also has a bounded journal queue
bound to every routing key, so every event type has a route: a publish that the broker returns
as unroutable is then a real topology fault, never "nobody subscribes yet" (decision 0020).
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass

import kombu
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.common.config import SERVICES, get_settings

# The journal keeps the most recent events of a service for operators to look at; nothing
# consumes it, so its length and age are bounded and the oldest messages are dropped first
# (drop-head: the default "reject-publish" would make the broker nack new events once full).
JOURNAL_MAX_LENGTH = 20_000
JOURNAL_MESSAGE_TTL_MS = 24 * 3600 * 1000


def event_exchange(service: str) -> kombu.Exchange:
    return kombu.Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2,
                          auto_delete=False)


def journal_queue(service: str) -> kombu.Queue:
    """`<service>.events.journal`: receives every event of `service` (routing key `#`)."""
    return kombu.Queue(f"{service}.events.journal", exchange=event_exchange(service),
                       routing_key="#", durable=True, auto_delete=False, exclusive=False,
                       queue_arguments={"x-max-length": JOURNAL_MAX_LENGTH,
                                        "x-overflow": "drop-head",
                                        "x-message-ttl": JOURNAL_MESSAGE_TTL_MS})


@dataclass(frozen=True)
class Subscription:
    source: str
    event_type: str
    service: str
    method: str

    @property
    def queue_name(self) -> str:
        return f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}"

    def queue(self) -> kombu.Queue:
        return kombu.Queue(self.queue_name, exchange=event_exchange(self.source),
                           routing_key=self.event_type, durable=True, auto_delete=False,
                           exclusive=False)


def subscriptions_of(service_cls) -> list[Subscription]:
    subs = []
    for name in dir(service_cls):
        method = getattr(service_cls, name, None)
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                subs.append(Subscription(entrypoint.source_service, entrypoint.event_type,
                                         service_cls.name, name))
    return subs


def service_classes() -> list[type]:
    """The nameko service classes that exist in this checkout."""
    classes = []
    for name in SERVICES:
        try:
            module = importlib.import_module(f"services.{name}.service")
        except ModuleNotFoundError as exc:
            if exc.name in (f"services.{name}", f"services.{name}.service"):
                continue
            raise
        classes.append(module.SERVICE)
    return classes


def all_subscriptions() -> list[Subscription]:
    """Every event consumer of the services in this checkout."""
    return [sub for cls in service_classes() for sub in subscriptions_of(cls)]


def consumed_types(source: str) -> frozenset[str]:
    """The event types of `source` that some service in this checkout consumes."""
    return frozenset(sub.event_type for sub in all_subscriptions() if sub.source == source)


def declare_on(channel, sources: Iterable[str] = ()) -> list[str]:
    """Declare on `channel` the exchange and journal of every service in this checkout (and of
    `sources`), then every consumer queue. Idempotent. Returns the queue names declared."""
    names = list(dict.fromkeys([*(cls.name for cls in service_classes()), *sources]))
    declared = []
    for name in names:
        journal = journal_queue(name)
        journal(channel).declare()  # declares the exchange first
        declared.append(journal.name)
    for sub in all_subscriptions():
        sub.queue()(channel).declare()
        declared.append(sub.queue_name)
    return declared


def declare_topology(amqp_uri: str | None = None, sources: Iterable[str] = (),
                     max_retries: int | None = 3) -> list[str]:
    """Connect (retrying a few times) and declare the whole topology. Returns the queue names."""
    with kombu.Connection(amqp_uri or get_settings().amqp_uri) as conn:
        conn.ensure_connection(max_retries=max_retries)
        return declare_on(conn.channel(), sources)

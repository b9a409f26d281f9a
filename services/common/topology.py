"""RabbitMQ topology, declared before anything publishes (ARCHITECTURE rule 4).

Event exchanges are `<service>.events` (topic), as nameko names them; each consumer's queue is
named and bound exactly as nameko's `event_handler` would declare it, so the declare step at
deploy time and the consumer at start-up agree.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

import kombu
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.common.config import SERVICES, get_settings


def event_exchange(service: str) -> kombu.Exchange:
    return kombu.Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2,
                          auto_delete=False)


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


def declare_topology(amqp_uri: str | None = None) -> list[str]:
    """Declare every event exchange and every consumer queue. Returns the queue names."""
    classes = service_classes()
    declared = []
    with kombu.Connection(amqp_uri or get_settings().amqp_uri) as conn:
        channel = conn.channel()
        for cls in classes:
            event_exchange(cls.name)(channel).declare()
        for cls in classes:
            for sub in subscriptions_of(cls):
                sub.queue()(channel).declare()
                declared.append(sub.queue_name)
    return declared

"""RabbitMQ topology, declared before anything publishes (ARCHITECTURE rule 4).

Event exchanges are `<service>.events` (topic), as nameko names them; each consumer's queue is
named and bound exactly as nameko's `event_handler` would declare it, so the declare step at
deploy time and the consumer at start-up agree. Each exchange also has a bounded journal queue
bound to every routing key, so every event type has a route: a publish that the broker returns
as unroutable is then a real topology fault, never "nobody subscribes yet" (decision 0020).

On a broker of three or more nodes the durable queues (journals, consumer queues, RPC request
queues) are quorum queues, replicated on every node, with a delivery limit and dead-lettering to
`desa.dead-letter`; on one node they are classic (decision 0070). nameko's own entrypoints
declare their queues too, so services use the entrypoints in services.common.entrypoints, which
declare them with the same arguments as this module.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass

import kombu
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from services.common.config import SERVICES, get_settings

QUORUM = "quorum"
CLASSIC = "classic"
# The broker counts deliveries of each message of a quorum queue; one that went back to its queue
# this many times (its consumer crashed or lost its connection while holding it, every time) is
# dead-lettered instead of being delivered again. nameko acks a message when its worker ends, even
# when the handler raised (the inbox parks such events), so only crashes count here.
DELIVERY_LIMIT = 5
DEAD_LETTER_EXCHANGE = "desa.dead-letter"
DEAD_LETTER_QUEUE = "desa.dead-letter"
RPC_EXCHANGE = "nameko-rpc"  # nameko's default (config key RPC_EXCHANGE)

# The journal keeps the most recent events of a service for operators to look at; nothing
# consumes it, so its length and age are bounded and the oldest messages are dropped first
# (drop-head: the default "reject-publish" would make the broker nack new events once full).
JOURNAL_MAX_LENGTH = 20_000
JOURNAL_MESSAGE_TTL_MS = 24 * 3600 * 1000


def broker_nodes(amqp_uri: str) -> list[str]:
    """The broker URLs of a kombu failover URI (`amqp://a;amqp://b;amqp://c`)."""
    return [url.strip() for url in amqp_uri.split(";") if url.strip()]


def queue_type(amqp_uri: str | None = None, configured: str | None = None) -> str:
    """`quorum` or `classic`: DESA_QUEUE_TYPE, where `auto` means quorum when the platform is
    pointed at three or more broker nodes (a quorum queue needs a majority of three to survive
    the loss of one)."""
    settings = get_settings()
    kind = (configured or settings.queue_type).strip().lower()
    if kind == "auto":
        nodes = broker_nodes(amqp_uri or settings.amqp_uri)
        return QUORUM if len(nodes) >= 3 else CLASSIC
    if kind not in (QUORUM, CLASSIC):
        raise ValueError(f"DESA_QUEUE_TYPE must be auto, quorum or classic, not {kind!r}")
    return kind


def work_queue_arguments(kind: str) -> dict:
    """Arguments of a queue that services consume (events, RPC requests)."""
    if kind == QUORUM:
        return {"x-queue-type": QUORUM, "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}
    return {}


def event_exchange(service: str) -> kombu.Exchange:
    return kombu.Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2,
                          auto_delete=False)


def journal_queue(service: str, kind: str = CLASSIC) -> kombu.Queue:
    """`<service>.events.journal`: receives every event of `service` (routing key `#`)."""
    arguments = {"x-max-length": JOURNAL_MAX_LENGTH, "x-overflow": "drop-head",
                 "x-message-ttl": JOURNAL_MESSAGE_TTL_MS}
    if kind == QUORUM:
        arguments["x-queue-type"] = QUORUM
    return kombu.Queue(f"{service}.events.journal", exchange=event_exchange(service),
                       routing_key="#", durable=True, auto_delete=False, exclusive=False,
                       queue_arguments=arguments)


def rpc_exchange() -> kombu.Exchange:
    return kombu.Exchange(RPC_EXCHANGE, type="topic", durable=True, auto_delete=False)


def rpc_queue(service: str, kind: str = CLASSIC) -> kombu.Queue:
    """`rpc-<service>`: the RPC requests of `service`, named and bound as nameko does."""
    return kombu.Queue(f"rpc-{service}", exchange=rpc_exchange(), routing_key=f"{service}.*",
                       durable=True, auto_delete=False, exclusive=False,
                       queue_arguments=work_queue_arguments(kind))


def dead_letter_queue() -> kombu.Queue:
    """Where quorum queues put a message delivered DELIVERY_LIMIT times (any routing key)."""
    exchange = kombu.Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True, auto_delete=False)
    return kombu.Queue(DEAD_LETTER_QUEUE, exchange=exchange, routing_key="#", durable=True,
                       auto_delete=False, exclusive=False,
                       queue_arguments={"x-queue-type": QUORUM})


@dataclass(frozen=True)
class Subscription:
    source: str
    event_type: str
    service: str
    method: str

    @property
    def queue_name(self) -> str:
        return f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}"

    def queue(self, kind: str = CLASSIC) -> kombu.Queue:
        return kombu.Queue(self.queue_name, exchange=event_exchange(self.source),
                           routing_key=self.event_type, durable=True, auto_delete=False,
                           exclusive=False, queue_arguments=work_queue_arguments(kind))


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


def topology_queues(kind: str, sources: Iterable[str] = ()) -> list[kombu.Queue]:
    """Every durable queue of this checkout (and the journals of `sources`), with its exchange
    and binding: journals, consumer queues, RPC request queues, and on quorum the dead-letter
    queue."""
    services = [cls.name for cls in service_classes()]
    names = list(dict.fromkeys([*services, *sources]))
    queues = [dead_letter_queue()] if kind == QUORUM else []
    queues += [journal_queue(name, kind) for name in names]
    queues += [sub.queue(kind) for sub in all_subscriptions()]
    queues += [rpc_queue(name, kind) for name in services]
    return queues


def declare_on(channel, sources: Iterable[str] = (), kind: str | None = None) -> list[str]:
    """Declare on `channel` the whole topology of this checkout (and the journals of `sources`).
    Idempotent. Returns the queue names declared."""
    declared = []
    for queue in topology_queues(kind or queue_type(), sources):
        queue(channel).declare()  # declares its exchange first
        declared.append(queue.name)
    return declared


def declare_topology(amqp_uri: str | None = None, sources: Iterable[str] = (),
                     max_retries: int | None = 3) -> list[str]:
    """Connect (retrying a few times) and declare the whole topology. Returns the queue names."""
    uri = amqp_uri or get_settings().amqp_uri
    with kombu.Connection(uri) as conn:
        conn.ensure_connection(max_retries=max_retries)
        return declare_on(conn.channel(), sources, queue_type(uri))


def definitions(kind: str, vhost: str = "/") -> dict:
    """The topology as a RabbitMQ definitions file (`load_definitions`), for deploys that import
    it before any process starts (`desa topology --definitions`)."""
    queues = topology_queues(kind)
    exchanges = {q.exchange.name: q.exchange for q in queues}
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [{"name": e.name, "vhost": vhost, "type": e.type, "durable": True,
                       "auto_delete": False, "internal": False, "arguments": {}}
                      for e in sorted(exchanges.values(), key=lambda e: e.name)],
        "queues": [{"name": q.name, "vhost": vhost, "durable": True, "auto_delete": False,
                    "arguments": dict(q.queue_arguments or {})} for q in queues],
        "bindings": [{"source": q.exchange.name, "vhost": vhost, "destination": q.name,
                      "destination_type": "queue", "routing_key": q.routing_key,
                      "arguments": {}} for q in queues],
    }

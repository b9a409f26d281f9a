"""The kernel's entrypoints: every service uses `rpc` and `event_handler` from here, never nameko's.

Two things nameko's own entrypoints do not do:

- **Queues as the topology declares them.** nameko declares the queue of each entrypoint when it
  starts consuming, without arguments; on a cluster the topology step has made those queues
  quorum queues, and RabbitMQ refuses a declare whose arguments differ (PRECONDITION_FAILED).
  These subclasses take the queue from services.common.topology instead, with the queue type of
  the broker they connect to (decision 0070).
- **Deadlines.** The gateway sends each request with a message expiry equal to its timeout and
  the same moment as an absolute `deadline` (seconds since the epoch) in the nameko context
  data, next to an `idempotency_key` for calls made by state-changing HTTP requests. A request
  that waited in the queue past its deadline (the broker expires it too, but only once it
  reaches the head of the queue) is answered with `DeadlineExceeded` and never reaches a
  worker; `@transaction` refuses to commit once the deadline has passed and remembers
  idempotency keys (services/common/idempotency.py; decision 0028).
- **Database outages as 503.** A call whose database connection failed under it (terminated by
  `pg_terminate_backend`, a server restart, a network cut) answers `DatabaseUnavailable`, which
  the gateway turns into 503 with Retry-After, instead of an undeclared error (a 500); the pool
  replaces the dead connection, so the next call works (decision 0071).
- **A reply the broker cannot take** (it went away mid-call) is logged, not raised: nameko would
  otherwise kill the service container, leaving a process that serves nothing until restarted.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections import deque
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa
from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko import events
from nameko import rpc as nameko_rpc
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer

from services.common.errors import DatabaseUnavailable, DeadlineExceeded
from services.common.topology import Subscription, queue_type, rpc_queue

log = logging.getLogger(__name__)

# The broker connection is gone (or refused): what kombu and amqp raise then.
BROKER_CONNECTION_ERRORS = (OSError, AMQPError, OperationalError)

DEADLINE_KEY = "deadline"
# An event queue's unacknowledged messages per process, and the most one batch applies.
EVENT_PREFETCH_KEY = "DESA_EVENT_PREFETCH"
EVENT_PREFETCH = 200
EVENT_BATCH_KEY = "DESA_EVENT_BATCH"
EVENT_BATCH = 200
IDEMPOTENCY_KEY = "idempotency_key"


def _kind(config: dict) -> str:
    return queue_type(config.get("AMQP_URI"), config.get("DESA_QUEUE_TYPE"))


@dataclass(frozen=True)
class RpcCall:
    """What the caller sent along with one request: its deadline and idempotency key."""

    deadline: float | None = None
    idempotency_key: str | None = None

    @classmethod
    def from_context(cls, data: dict) -> RpcCall:
        return cls(deadline=parse_deadline(data.get(DEADLINE_KEY)),
                   idempotency_key=data.get(IDEMPOTENCY_KEY) or None)

    def expired(self, now: float | None = None) -> bool:
        return self.deadline is not None and (now or time.time()) > self.deadline

    def check_deadline(self) -> None:
        if self.expired():
            raise DeadlineExceeded("The caller stopped waiting before the work was done; "
                                   "nothing was changed.")


def parse_deadline(value) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class RpcConsumer(nameko_rpc.RpcConsumer):
    def setup(self):
        # nameko's setup, with the topology's queue instead of one built without arguments.
        if self.queue is None:
            self.queue = rpc_queue(self.container.service_name, _kind(self.container.config))
            self.queue_consumer.register_provider(self)


class Rpc(nameko_rpc.Rpc):
    """nameko's RPC entrypoint on the topology's queue, refusing a request whose deadline has
    already passed."""

    rpc_consumer = RpcConsumer()

    def handle_message(self, body, message):
        call = RpcCall.from_context(self.unpack_message_headers(message))
        if call.expired():
            late = time.time() - call.deadline
            log.warning("rpc request refused: past its deadline", extra={
                "method": self.method_name, "late_seconds": round(late, 3)})
            try:
                call.check_deadline()
            except DeadlineExceeded:
                # Answered (the caller may still listen) and acknowledged, never run.
                self.rpc_consumer.handle_result(message, None, sys.exc_info())
            return
        super().handle_message(body, message)

    def handle_result(self, message, worker_ctx, result, exc_info):
        if exc_info is not None and database_outage(exc_info[1]):
            log.warning("rpc failed: the database connection was lost", extra={
                "method": self.method_name,
                "error": type(getattr(exc_info[1], "orig", None) or exc_info[1]).__name__})
            try:
                raise DatabaseUnavailable("The database connection was lost; try again.") from None
            except DatabaseUnavailable:
                exc_info = sys.exc_info()
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_CONNECTION_ERRORS as exc:
            # The broker went away while the reply was being sent. Raised here, it would kill
            # the whole service container (the process lives on, serving nothing). The request
            # was not acknowledged, so it goes back to its queue with the dead channel and runs
            # again (its idempotency key returns the first result) unless its deadline passed.
            log.warning("rpc reply not sent: the broker connection was lost", extra={
                "method": self.method_name, "error": repr(exc)})
            return result, exc_info


def database_outage(exc: BaseException) -> bool:
    """Whether `exc` means the database connection failed, not that the statement was wrong:
    the server or the network went away (OperationalError), or SQLAlchemy invalidated the
    connection it raised on."""
    return isinstance(exc, sa.exc.DBAPIError) and (
        isinstance(exc, sa.exc.OperationalError) or exc.connection_invalidated)


class EventBatch(list):
    """The envelopes of consecutive messages of one queue, in delivery order, handed to one
    worker (services/common/inbox.py applies them in one transaction)."""


class EventQueueConsumer(QueueConsumer):
    """nameko's queue consumer for one event queue, on a connection of its own, with a prefetch
    of its own (`DESA_EVENT_PREFETCH`) instead of `max_workers`: a batching handler keeps one
    worker busy per queue, so the window of unacknowledged messages sets the size of its
    batches, not the number of workers. Its channel carries that one queue, so a batch is
    acknowledged by one `multiple` ack of its last message (decision 0097)."""

    def __init__(self, queue_key: str | None = None):
        super().__init__()
        self.queue_key = queue_key

    @property
    def sharing_key(self):
        return (type(self), self.queue_key)

    @property
    def prefetch_count(self) -> int:
        return int(self.container.config.get(EVENT_PREFETCH_KEY, EVENT_PREFETCH))

    def handle_message(self, provider, body, message):
        # nameko spawns a thread per message to call the provider; the batching handler only
        # queues the message and schedules its batch, never blocks, so it is called directly.
        provider.handle_message(body, message)

    def ack_messages(self, messages: list) -> None:
        """Acknowledge `messages` (consecutive deliveries of this consumer's one queue): the
        last of each channel with `multiple`, covering the earlier ones. Messages of a channel
        that has closed meanwhile were already given back to the queue by the broker."""
        last = {id(message.channel): message for message in messages}
        for message in last.values():
            if message.channel.connection:
                with contextlib.suppress(ConnectionError):  # closing under us, as in nameko
                    message.ack(multiple=True)


class EventHandler(events.EventHandler):
    """nameko's event handler on the topology's queue, handing its messages to the service in
    batches: while one worker applies a batch, the messages that arrive meanwhile wait in
    order, and the next worker takes all of them (up to `DESA_EVENT_BATCH`). A batch's
    messages are acknowledged once its worker has returned. One batch per queue at a time keeps
    a process applying a queue's events in the order they were delivered."""

    queue_consumer = EventQueueConsumer()

    def bind(self, container, method_name):
        instance = super().bind(container, method_name)
        # A queue consumer (a connection and channel) per event queue, not one per service.
        instance.queue_consumer = EventQueueConsumer(method_name).bind(container)
        return instance

    def setup(self):
        super().setup()
        # Read when the consumer starts, after setup: replace nameko's queue by the topology's.
        subscription = Subscription(self.source_service, self.event_type,
                                    self.container.service_name, self.method_name)
        self.queue = subscription.queue(_kind(self.container.config))
        self.batch_size = int(self.container.config.get(EVENT_BATCH_KEY, EVENT_BATCH))
        self.waiting: deque = deque()
        self.busy = False  # a batch is scheduled or being applied

    def handle_message(self, body, message):
        self.waiting.append((body, message))
        self._schedule()

    def _schedule(self) -> None:
        if not self.busy and self.waiting:
            self.busy = True
            # In a thread of its own: spawning a worker waits while every worker is busy.
            self.container.spawn_managed_thread(self._run_batch,
                                                identifier=f"{self.method_name}.batch")

    def _run_batch(self) -> None:
        taken = [self.waiting.popleft()
                 for _ in range(min(self.batch_size, len(self.waiting)))]
        messages = [message for _, message in taken]
        try:
            self.container.spawn_worker(
                self, (EventBatch(body for body, _ in taken),), {},
                context_data=self.unpack_message_headers(messages[0]),
                handle_result=partial(self._batch_done, messages))
        except ContainerBeingKilled:
            for message in messages:
                self.queue_consumer.requeue_message(message)

    def _batch_done(self, messages, worker_ctx, result=None, exc_info=None):
        if exc_info is not None and self.requeue_on_error:
            for message in messages:
                self.queue_consumer.requeue_message(message)
        else:
            self.queue_consumer.ack_messages(messages)
        self.busy = False
        self._schedule()
        return result, exc_info


rpc = Rpc.decorator
event_handler = EventHandler.decorator


class CallContext(DependencyProvider):
    """`self.rpc_call`: the RpcCall of the request a worker serves (empty for timers, events)."""

    def get_dependency(self, worker_ctx) -> RpcCall:
        return RpcCall.from_context(worker_ctx.data)

"""Pooled RPC to the nameko services: one long-lived ClusterRpcProxy per gateway thread.

Opening a proxy costs a connection, a channel and a reply queue (tens of milliseconds), so each
gunicorn thread keeps its own started proxy and reuses it; nameko's standalone proxy is not
thread-safe, hence one per thread rather than one shared. A proxy whose connection broke is
discarded and rebuilt; a call whose request could not be sent is retried once on the new proxy.
A call that was sent is never retried here (it may have changed state): it fails with 503.

Every call has a deadline (ARCHITECTURE rule 11): the request expires in the broker after the
caller's timeout, and carries the same moment as `deadline` in its context data, which the
service's entrypoint checks (services/common/entrypoints.py). A call to a service nobody serves
(no consumer on its queue) is not sent at all: it fails at once with 503 and Retry-After instead
of waiting out the timeout and running later; a thread that saw the service consumed less than
CONSUMERS_SEEN_SECONDS ago does not ask the broker again (decision 0096). Calls made by a
state-changing HTTP request carry an idempotency key: the client's `Idempotency-Key` header, or
one made here, plus the call's position in the request, so a repeat returns the first result
(services/common/idempotency.py).

Replies are consumed with automatic acknowledgement, so a reply that comes after its call timed
out is dropped when it arrives instead of staying unacknowledged until RabbitMQ's consumer
timeout closes the channel; a reply channel the broker closed anyway is consumed again while
waiting (at once on a channel error, or after a second without a reply when the channel was
closed between calls), and the reply, kept in the reply queue meanwhile, still arrives.

Usage inside a request: `services().registry.get_resident(nik, scope)`.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import re
import threading
import time
import uuid
import weakref
from typing import Any

from amqp.exceptions import AMQPError, ChannelError, NotFound
from flask import current_app, g, request
from kombu import Consumer
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import RPC_QUEUE_TEMPLATE, MethodProxy
from nameko.standalone.rpc import (
    ClusterRpcProxy,
    PollingQueueConsumer,
    SingleThreadedReplyListener,
)

from gateway.errors import ServiceUnavailable
from services.common.config import Settings
from services.common.entrypoints import DEADLINE_KEY, IDEMPOTENCY_KEY
from services.common.errors import ValidationFailed
from services.common.logs import REQUEST_ID_KEY

log = logging.getLogger(__name__)

# Errors that mean the broker connection is gone (or never came up).
CONNECTION_ERRORS = (OSError, AMQPError, OperationalError)

# How much longer than the deadline the gateway listens for a reply: a service refuses to commit
# past the deadline, so a reply still on its way is not taken for a failure.
REPLY_GRACE_SECONDS = 1.0

# While waiting for a reply, how often the reply queue's consumer is checked.
CONSUMER_CHECK_SECONDS = 1.0

# For how long a thread trusts that a service it saw consumed still is (decision 0096): the
# fail-fast check costs a broker round trip, a quarter of a busy read's time in the gateway.
CONSUMERS_SEEN_SECONDS = 1.0

IDEMPOTENCY_HEADER = "Idempotency-Key"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_pools: weakref.WeakSet = weakref.WeakSet()


class _NotSent(Exception):
    """The request never left: the proxy could not be built or the publish failed."""


class _ReplyConsumer(PollingQueueConsumer):
    """nameko's polling reply consumer, safe to keep for the life of a thread (see above)."""

    # Until when (time.monotonic()) the current call waits for its reply.
    wait_until: float | None = None
    _probe: Any = None

    def _setup_consumer(self) -> None:
        if self.consumer is not None:
            with contextlib.suppress(Exception):  # it may be closed already, or its connection
                self.consumer.channel.close()
        channel = self.connection.channel()
        self.queue = self.queue.bind(channel)
        self.queue.declare()  # not kombu's maybe_declare: its cache outlives an expired queue
        consumer = Consumer(channel, queues=[self.queue], accept=self.accept, no_ack=True)
        consumer.callbacks = [self.on_message]
        consumer.consume()
        self.consumer = consumer

    def ack_message(self, msg) -> None:
        """Consumed with automatic acknowledgement: nothing to do."""

    def on_message(self, body, message) -> None:
        correlation_id = message.properties.get("correlation_id")
        if correlation_id in self.provider._reply_events:
            self.replies[correlation_id] = (body, message)
        else:
            log.info("late rpc reply dropped", extra={"correlation_id": correlation_id})

    def get_message(self, correlation_id: str) -> None:
        while correlation_id not in self.replies:
            remaining = (self.wait_until - time.monotonic() if self.wait_until is not None
                         else self.timeout)
            if remaining is not None and remaining <= 0:
                event = self.provider._reply_events.pop(correlation_id)
                event.send_exception(RpcTimeout(self.timeout))
                return
            try:
                self.consumer.connection.drain_events(
                    timeout=None if remaining is None else min(remaining, CONSUMER_CHECK_SECONDS))
            except TimeoutError:
                # No reply yet: make sure there is still a consumer to deliver it (a channel
                # closed by the broker between two calls is noticed here).
                self.ensure_consuming()
                continue
            except ChannelError as exc:
                # The broker closed the reply channel (a consumer timeout, an operator): the
                # reply waits in the reply queue, so consume it again and keep waiting.
                log.warning("rpc reply channel closed by the broker; consuming again",
                            extra={"error": repr(exc)})
                self._setup_consumer()
        body, message = self.replies.pop(correlation_id)
        self.provider.handle_message(body, message)

    def ensure_consuming(self) -> None:
        """Consume the reply queue again if the broker closed the channel between calls."""
        if not self.consumers_of(self.queue.name):
            log.warning("rpc reply consumer was gone; consuming again")
            self._setup_consumer()

    def consumers_of(self, queue: str) -> int | None:
        """How many consumers `queue` has; None when it does not exist."""
        if self._probe is None or not self._probe.is_open:
            self._probe = self.connection.channel()
        try:
            return self._probe.queue_declare(queue=queue, passive=True).consumer_count
        except NotFound:
            return None  # the broker closed the probe channel; it is opened again next time


class _ReplyListener(SingleThreadedReplyListener):
    def __init__(self, timeout: float | None = None):
        super().__init__(timeout=timeout)
        self.queue_consumer = _ReplyConsumer(timeout=timeout)


class _Handle:
    """A started ClusterRpcProxy: its reply consumer, and requests sent through it."""

    def __init__(self, config: dict, timeout: float):
        self.standalone = ClusterRpcProxy(config, timeout=timeout,
                                          reply_listener_cls=_ReplyListener)
        self.standalone.start()
        self.listener: _ReplyListener = self.standalone._reply_listener
        self.consumer: _ReplyConsumer = self.listener.queue_consumer
        self._consumers_seen: dict[str, float] = {}  # service -> when consumers were seen
        # When its thread ends, the thread-local reference goes and the connection is closed.
        self._finalizer = weakref.finalize(self, _stop_quietly, self.standalone)

    @property
    def context_data(self) -> dict:
        # nameko's standalone proxy fixes context data at construction; its worker context is
        # where every call reads the headers from, so per-call data is set there.
        return self.standalone._worker_ctx.data

    def has_consumers(self, service: str) -> bool:
        """Whether some process consumes `service`'s queue: asked of the broker, or taken from
        an answer of the last CONSUMERS_SEEN_SECONDS (a yes only; a no is asked again)."""
        now = time.monotonic()
        if now - self._consumers_seen.get(service, -CONSUMERS_SEEN_SECONDS) < \
                CONSUMERS_SEEN_SECONDS:
            return True
        if self.consumer.consumers_of(RPC_QUEUE_TEMPLATE.format(service)):
            self._consumers_seen[service] = now
            return True
        self._consumers_seen.pop(service, None)
        return False

    def send(self, service: str, method: str, args: tuple, kwargs: dict, expiration: float):
        proxy = MethodProxy(self.standalone._worker_ctx, service, method, self.listener,
                            expiration=expiration)
        return proxy.call_async(*args, **kwargs)

    def wait(self, reply: Any, until: float) -> Any:
        self.consumer.wait_until = until
        try:
            return reply.result()
        finally:
            self.consumer.wait_until = None

    def stop(self) -> None:
        self._finalizer()


def _stop_quietly(standalone: ClusterRpcProxy) -> None:
    # Closing a broken connection may fail again; the proxy is dropped either way.
    with contextlib.suppress(Exception):
        standalone.stop()


class RpcPool:
    """Per-thread long-lived proxies for one gateway app."""

    def __init__(self, settings: Settings):
        self.config = settings.nameko_config()
        self.timeout = settings.rpc_timeout_seconds
        self._local = threading.local()
        self._lock = threading.Lock()
        # Weak: a handle lives as long as its thread's local reference to it.
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()
        # (service, method) -> its Collapser (gateway/collapse.py), made on first use.
        self.collapsers: dict = {}
        _pools.add(self)

    # -- proxies ----------------------------------------------------------------------------
    def _handle(self) -> _Handle:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = _Handle(self.config, self.timeout)
            self._local.handle = handle
            with self._lock:
                self._handles.add(handle)
        return handle

    def _discard(self, handle: _Handle) -> None:
        if getattr(self._local, "handle", None) is handle:
            self._local.handle = None
        with self._lock:
            self._handles.discard(handle)
        handle.stop()

    def close_all(self) -> None:
        """Stop every proxy of this pool (process shutdown, end of a test)."""
        with self._lock:
            handles, self._handles = list(self._handles), weakref.WeakSet()
        for handle in handles:
            handle.stop()
        self._local = threading.local()

    @property
    def open_proxies(self) -> int:
        with self._lock:
            return len(self._handles)

    # -- calls ------------------------------------------------------------------------------
    def call(self, service: str, method: str, args: tuple, kwargs: dict, *,
             request_id: str | None = None, timeout: float | None = None,
             idempotency_key: str | None = None) -> Any:
        target = f"{service}.{method}"
        timeout = timeout or self.timeout
        deadline = time.time() + timeout
        wait_until = time.monotonic() + timeout + REPLY_GRACE_SECONDS
        context = {REQUEST_ID_KEY: request_id, DEADLINE_KEY: deadline,
                   IDEMPOTENCY_KEY: idempotency_key}
        try:
            handle, reply = self._send(service, method, args, kwargs, context)
        except _NotSent as first:
            # Nothing was delivered, so sending again on a rebuilt proxy cannot act twice.
            log.warning("rpc connection lost before sending; retrying once", extra={
                "target": target, "error": repr(first.__cause__)})
            try:
                handle, reply = self._send(service, method, args, kwargs, context)
            except _NotSent as second:
                raise ServiceUnavailable("The message broker cannot be reached.") from \
                    second.__cause__
        return self._wait(handle, reply, target, wait_until)

    def _send(self, service: str, method: str, args: tuple, kwargs: dict,
              context: dict) -> tuple[_Handle, Any]:
        try:
            handle = self._handle()
        except CONNECTION_ERRORS as exc:
            raise _NotSent from exc
        for key, value in context.items():
            if value is None:
                handle.context_data.pop(key, None)
            else:
                handle.context_data[key] = value
        try:
            if not handle.has_consumers(service):
                # Sent now, it would wait in the queue and run whenever the service comes back.
                raise ServiceUnavailable(f"The {service} service is not running.")
            expiration = max(context[DEADLINE_KEY] - time.time(), 0.001)
            return handle, handle.send(service, method, args, kwargs, expiration)
        except UnknownService as exc:
            raise ServiceUnavailable(f"The {service} service is not running.") from exc
        except CONNECTION_ERRORS as exc:
            self._discard(handle)
            raise _NotSent from exc

    def _wait(self, handle: _Handle, reply: Any, target: str, wait_until: float) -> Any:
        try:
            return handle.wait(reply, wait_until)
        except RpcTimeout as exc:
            log.warning("rpc timeout", extra={"target": target})
            raise ServiceUnavailable(f"{target.split('.')[0]} did not answer in time.") from exc
        except (*CONNECTION_ERRORS, RuntimeError) as exc:
            # RuntimeError: nameko's reply consumer lost its connection while waiting.
            self._discard(handle)
            log.warning("rpc connection lost while waiting", extra={
                "target": target, "error": repr(exc)})
            raise ServiceUnavailable("The connection to the services was lost.") from exc


def request_idempotency_key() -> str | None:
    """The idempotency key of this HTTP request: None for a read (GET, HEAD, OPTIONS); the
    client's `Idempotency-Key` header; or, when it sent none, one made for this request."""
    if request.method in SAFE_METHODS:
        return None
    if "idempotency_key" not in g:
        supplied = request.headers.get(IDEMPOTENCY_HEADER)
        if supplied is None:
            g.idempotency_key = uuid.uuid4().hex
        elif _IDEMPOTENCY_KEY_RE.match(supplied):
            g.idempotency_key = supplied
        else:
            raise ValidationFailed(
                "The Idempotency-Key header must be 1 to 128 letters, digits or . _ : -",
                fields={IDEMPOTENCY_HEADER: ["Not a valid idempotency key."]})
    return g.idempotency_key


def _call_key(base: str | None) -> str | None:
    """`base:n` for the n-th call of this request, so a retried request repeats each call."""
    if base is None:
        return None
    g.rpc_calls = g.get("rpc_calls", 0) + 1
    return f"{base}:{g.rpc_calls}"


class _ServiceProxy:
    def __init__(self, pool: RpcPool, service: str, request_id: str | None,
                 timeout: float | None, idempotency_key: str | None):
        self._pool = pool
        self._service = service
        self._request_id = request_id
        self._timeout = timeout
        self._idempotency_key = idempotency_key

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            return self._pool.call(self._service, method, args, kwargs,
                                   request_id=self._request_id, timeout=self._timeout,
                                   idempotency_key=_call_key(self._idempotency_key))

        return call


class Services:
    """`services().registry.method(...)`: the calling side of every service."""

    def __init__(self, pool: RpcPool, request_id: str | None, timeout: float | None = None,
                 idempotency_key: str | None = None):
        self._pool = pool
        self._request_id = request_id
        self._timeout = timeout
        self._idempotency_key = idempotency_key

    def __getattr__(self, service: str) -> _ServiceProxy:
        if service.startswith("_"):
            raise AttributeError(service)
        return _ServiceProxy(self._pool, service, self._request_id, self._timeout,
                             self._idempotency_key)

    def __getitem__(self, service: str) -> _ServiceProxy:
        return getattr(self, service)


def services(timeout: float | None = None) -> Services:
    """The services, called with this request's id (and idempotency key) as context data."""
    pool: RpcPool = current_app.extensions["desa"]["rpc"]
    return Services(pool, g.get("request_id"), timeout, request_idempotency_key())


@atexit.register
def _close_pools() -> None:
    for pool in list(_pools):
        pool.close_all()

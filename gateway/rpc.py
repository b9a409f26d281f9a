"""Pooled RPC to the nameko services: one long-lived ClusterRpcProxy per gateway thread.

Opening a proxy costs a connection, a channel and a reply queue (tens of milliseconds), so each
gunicorn thread keeps its own started proxy and reuses it; nameko's standalone proxy is not
thread-safe, hence one per thread rather than one shared. A proxy whose connection broke is
discarded and rebuilt; a call whose request could not be sent is retried once on the new proxy.
A call that was sent is never retried (it may have changed state): it fails with 503.

Usage inside a request: `services().registry.get_resident(nik, scope)`.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import weakref
from typing import Any

from amqp.exceptions import AMQPError
from flask import current_app, g
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from gateway.errors import ServiceUnavailable
from services.common.config import Settings
from services.common.logs import REQUEST_ID_KEY

log = logging.getLogger(__name__)

# Errors that mean the broker connection is gone (or never came up).
CONNECTION_ERRORS = (OSError, AMQPError, OperationalError)

_pools: weakref.WeakSet = weakref.WeakSet()


class _NotSent(Exception):
    """The request never left: the proxy could not be built or the publish failed."""


class _Handle:
    """A started ClusterRpcProxy and the cluster proxy it hands out."""

    def __init__(self, config: dict, timeout: float):
        self.standalone = ClusterRpcProxy(config, timeout=timeout)
        self.cluster = self.standalone.start()
        self.timeout = timeout
        # When its thread ends, the thread-local reference goes and the connection is closed.
        self._finalizer = weakref.finalize(self, _stop_quietly, self.standalone)

    @property
    def context_data(self) -> dict:
        # nameko's standalone proxy fixes context data at construction; its worker context is
        # where every call reads the headers from, so per-call data is set there.
        return self.standalone._worker_ctx.data

    def set_timeout(self, timeout: float) -> None:
        # The polling reply consumer reads its timeout on every wait.
        self.standalone._reply_listener.queue_consumer.timeout = timeout

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
             request_id: str | None = None, timeout: float | None = None) -> Any:
        target = f"{service}.{method}"
        try:
            handle, reply = self._send(service, method, args, kwargs, request_id)
        except _NotSent as first:
            # Nothing was delivered, so sending again on a rebuilt proxy cannot act twice.
            log.warning("rpc connection lost before sending; retrying once", extra={
                "target": target, "error": repr(first.__cause__)})
            try:
                handle, reply = self._send(service, method, args, kwargs, request_id)
            except _NotSent as second:
                raise ServiceUnavailable("The message broker cannot be reached.") from \
                    second.__cause__
        return self._wait(handle, reply, target, timeout)

    def _send(self, service: str, method: str, args: tuple, kwargs: dict,
              request_id: str | None) -> tuple[_Handle, Any]:
        try:
            handle = self._handle()
        except CONNECTION_ERRORS as exc:
            raise _NotSent from exc
        if request_id is None:
            handle.context_data.pop(REQUEST_ID_KEY, None)
        else:
            handle.context_data[REQUEST_ID_KEY] = request_id
        try:
            return handle, getattr(handle.cluster[service], method).call_async(*args, **kwargs)
        except UnknownService as exc:
            raise ServiceUnavailable(f"The {service} service is not running.") from exc
        except CONNECTION_ERRORS as exc:
            self._discard(handle)
            raise _NotSent from exc

    def _wait(self, handle: _Handle, reply: Any, target: str, timeout: float | None) -> Any:
        if timeout is not None:
            handle.set_timeout(timeout)
        try:
            return reply.result()
        except RpcTimeout as exc:
            log.warning("rpc timeout", extra={"target": target})
            raise ServiceUnavailable(f"{target.split('.')[0]} did not answer in time.") from exc
        except (*CONNECTION_ERRORS, RuntimeError) as exc:
            # RuntimeError: nameko's reply consumer lost its connection while waiting.
            self._discard(handle)
            log.warning("rpc connection lost while waiting", extra={
                "target": target, "error": repr(exc)})
            raise ServiceUnavailable("The connection to the services was lost.") from exc
        finally:
            if timeout is not None and handle in self._handles:
                handle.set_timeout(handle.timeout)


class _ServiceProxy:
    def __init__(self, pool: RpcPool, service: str, request_id: str | None,
                 timeout: float | None):
        self._pool = pool
        self._service = service
        self._request_id = request_id
        self._timeout = timeout

    def __getattr__(self, method: str):
        if method.startswith("_"):
            raise AttributeError(method)

        def call(*args, **kwargs):
            return self._pool.call(self._service, method, args, kwargs,
                                   request_id=self._request_id, timeout=self._timeout)

        return call


class Services:
    """`services().registry.method(...)`: the calling side of every service."""

    def __init__(self, pool: RpcPool, request_id: str | None, timeout: float | None = None):
        self._pool = pool
        self._request_id = request_id
        self._timeout = timeout

    def __getattr__(self, service: str) -> _ServiceProxy:
        if service.startswith("_"):
            raise AttributeError(service)
        return _ServiceProxy(self._pool, service, self._request_id, self._timeout)

    def __getitem__(self, service: str) -> _ServiceProxy:
        return getattr(self, service)


def services(timeout: float | None = None) -> Services:
    """The services, called with this request's id as context data."""
    pool: RpcPool = current_app.extensions["desa"]["rpc"]
    return Services(pool, g.get("request_id"), timeout)


@atexit.register
def _close_pools() -> None:
    for pool in list(_pools):
        pool.close_all()

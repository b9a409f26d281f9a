"""The kernel's RPC entrypoint: every request has a deadline, and work past it is refused.

The gateway sends each request with a message expiry equal to its timeout and the same moment as
an absolute `deadline` (seconds since the epoch) in the nameko context data, next to an
`idempotency_key` for calls made by state-changing HTTP requests. A request that waited in the
queue past its deadline (the broker expires it too, but only once it reaches the head of the
queue) is answered with `DeadlineExceeded` and never reaches a worker; `@transaction` refuses to
commit once the deadline has passed and remembers idempotency keys (services/common/
idempotency.py). Services use `rpc` from here instead of nameko's, so any service gets both.
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc as NamekoRpc

from services.common.errors import DeadlineExceeded

log = logging.getLogger(__name__)

DEADLINE_KEY = "deadline"
IDEMPOTENCY_KEY = "idempotency_key"


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


class Rpc(NamekoRpc):
    """nameko's RPC entrypoint, refusing a request whose deadline has already passed."""

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


rpc = Rpc.decorator


class CallContext(DependencyProvider):
    """`self.rpc_call`: the RpcCall of the request a worker serves (empty for timers, events)."""

    def get_dependency(self, worker_ctx) -> RpcCall:
        return RpcCall.from_context(worker_ctx.data)

"""Batch RPCs: one call that answers several callers' items, each with its own result or error.

The gateway collapses concurrent calls of the same method into one batch call (decision 0101,
gateway/collapse.py). A batch method takes a list of items, each a dict with the caller's
arguments plus its `request_id` and `deadline` (seconds since the epoch), and returns one
answer per item, in order: `{"result": value}` or `{"error": <the error as nameko serialises
an RPC's>}`. The caller gets the value, or the error rebuilt as nameko rebuilds an RPC's
(`result_of`), so each caller sees what a call of its own would have given it.
"""
from __future__ import annotations

import time

from nameko.exceptions import deserialize, serialize

from services.common.entrypoints import parse_deadline
from services.common.errors import DeadlineExceeded, ValidationFailed

# The most items one batch call may carry (the gateway sends at most its batch size, 64).
MAX_ITEMS = 256


def items_of(items) -> list[dict]:
    """The batch's items, checked for form: a list of at most MAX_ITEMS dicts."""
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValidationFailed("Invalid batch", fields={"items": ["A list of objects."]})
    if len(items) > MAX_ITEMS:
        raise ValidationFailed("Invalid batch",
                               fields={"items": [f"At most {MAX_ITEMS} items."]})
    return items


def check_deadline(item: dict, now: float | None = None) -> None:
    """DeadlineExceeded when the item's caller stopped waiting (its own deadline passed)."""
    deadline = parse_deadline(item.get("deadline"))
    if deadline is not None and (now or time.time()) > deadline:
        raise DeadlineExceeded("The caller stopped waiting before the work was done; "
                               "nothing was changed.")


def request_id_of(item: dict) -> str | None:
    request_id = item.get("request_id")
    return request_id if isinstance(request_id, str) else None


def answered(value) -> dict:
    return {"result": value}


def failed(exc: BaseException) -> dict:
    return {"error": serialize(exc)}


def result_of(answer) -> object:
    """The value of one item's answer; its error (rebuilt) raised."""
    if not isinstance(answer, dict) or not ("result" in answer or "error" in answer):
        raise ValueError(f"not a batch answer: {answer!r}")
    if "error" in answer:
        raise deserialize(answer["error"])
    return answer["result"]

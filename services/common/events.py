"""The one event envelope every service emits (ARCHITECTURE rule 1)."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

SCHEMA_VERSION = 1


def json_default(value: Any) -> Any:
    if isinstance(value, date):  # datetime too (a subclass)
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json_safe(payload: Any) -> Any:
    """Round-trip through JSON so the payload stored is exactly what consumers will see."""
    return json.loads(json.dumps(payload, default=json_default))


def make_envelope(*, source: str, type: str, village_code: str | None, aggregate_id: str,
                  payload: dict, schema_version: int = SCHEMA_VERSION) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "type": type,
        "source": source,
        "village_code": village_code,
        "aggregate_id": str(aggregate_id),
        "occurred_at": datetime.now(UTC).isoformat(),
        "schema_version": schema_version,
        "payload": to_json_safe(payload),
    }

"""Pure hash-chain arithmetic: what a row's hash is, given its content and its predecessor."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from decimal import Decimal
from typing import Any


def to_json_value(value: Any) -> Any:
    """Reduce a value to what JSON stores, so the hash is computed over what is read back."""
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_json_value(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, float):
        # JSON databases re-render floats (PostgreSQL's jsonb gives 1e16 back as 10000000000000000),
        # which would change the hashed text: keep them as their shortest exact decimal string.
        if not math.isfinite(value):
            raise ValueError("audit data cannot hold NaN or infinity")
        return repr(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def entry_hash(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    organisation_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    data: dict,
    prev_hash: str,
) -> str:
    payload = {
        "seq": seq,
        # UTC with microseconds: the same instant always gives the same text.
        "at": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor_id,
        "actor_label": actor_label,
        "organisation": organisation_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "data": data,
        "prev": prev_hash,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

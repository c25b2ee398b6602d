"""Items as the JSON objects of the ``decode`` command (DESIGN.md): one object per line."""

from __future__ import annotations

import math

from kapmonitor.core.readings import DecodeError, Item, LinkEvent, Reading, WaveChunk


def _number(value: float) -> int | float | None:
    """Whole numbers print as integers (97, not 97.0), as a device reports them; NaN is no value, not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def item_to_json(item: Item) -> dict[str, object]:
    if isinstance(item, Reading):
        return {
            "kind": "numeric",
            "metric": item.metric,
            "value": None if item.value is None else _number(item.value),
            "unit": item.unit,
            "flags": sorted(item.flags),
            "t_device": None if item.t_device is None else item.t_device.isoformat(),
        }
    if isinstance(item, WaveChunk):
        return {
            "kind": "wave",
            "metric": item.metric,
            "rate_hz": _number(item.rate_hz),
            "samples": list(item.samples),
        }
    if isinstance(item, DecodeError):
        error: dict[str, object] = {"kind": "error", "reason": item.reason, "offset": item.offset}
        if item.detail:
            error["detail"] = item.detail
        return error
    if isinstance(item, LinkEvent):
        return {"kind": "link", "event": item.kind, "detail": item.detail}
    raise TypeError(f"not a decoder item: {item!r}")

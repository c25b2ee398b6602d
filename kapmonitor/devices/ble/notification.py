"""What every Bluetooth characteristic decoder shares: one ``feed`` = one notification, strict lengths.

A characteristic parser is a pure function of one payload. It raises :class:`ShortPayload` when the payload is
shorter than its flags require; :class:`NotificationDecoder` turns that into a ``DecodeError("short", ...)``
whose offset is the position in the decoder's whole input, and never lets any other exception escape ``feed``.
"""

from __future__ import annotations

import functools
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import DecodeError, Item, Reading
from kapmonitor.devices.base import Decoder


class ShortPayload(Exception):
    """The payload ends before a field its flags announce."""

    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(detail)
        self.offset = offset
        self.detail = detail


_unit_of = functools.cache(unit_of)  # a handful of metric names, looked up for every reading


def need(data: bytes, end: int, what: str) -> None:
    """Raise :class:`ShortPayload` unless ``data`` holds bytes up to ``end`` (exclusive)."""
    if len(data) < end:
        raise ShortPayload(len(data), f"{what} needs {end} bytes, got {len(data)}")


def checked_reading(
    metric: str,
    value: float | None,
    limits: tuple[float, float],
    flags: frozenset[str],
    t_device: datetime | None,
    offset: int,
    *,
    keep_implausible: bool = False,
) -> list[Item]:
    """A reading, or for a value outside the plausible ``limits`` a ``None`` reading flagged "invalid" plus a
    ``DecodeError("implausible")`` that keeps the number the device sent. With ``keep_implausible`` the
    value stays
    and is flagged "questionable" instead (for RR intervals, where every slot of the series matters)."""
    unit = _unit_of(metric)
    if value is None or limits[0] <= value <= limits[1]:
        return [Reading(metric, value, unit, flags, t_device)]
    if keep_implausible:
        return [Reading(metric, value, unit, flags | {"questionable"}, t_device)]
    detail = f"{metric} {value:g} {unit} outside {limits[0]:g}..{limits[1]:g}".replace("  ", " ")
    return [
        Reading(metric, None, unit, flags | {"invalid"}, t_device),
        DecodeError("implausible", offset, detail),
    ]


def trailing_error(data: bytes, used: int) -> list[Item]:
    """Bytes after the last field the flags announce: tolerated, but reported."""
    if len(data) <= used:
        return []
    return [
        DecodeError(
            "trailing", used, f"{len(data) - used} byte(s) after the last field: {data[used:].hex(' ')}"
        )
    ]


class NotificationDecoder(Decoder):
    """Base of the characteristic decoders. Subclasses implement :meth:`decode` for one whole payload."""

    characteristic: int  # the 16-bit characteristic UUID

    # Streaming devices repeat a few hundred distinct payloads (same SpO2, same pulse, same flags), so the
    # items of a payload are remembered: a repeat costs one dict lookup instead of a parse. Items are frozen, so
    # sharing them is safe. Bounded: the table is dropped when it fills; 0 turns it off.
    max_remembered: ClassVar[int] = 2048

    def __init__(self) -> None:
        super().__init__()
        self._position = 0
        self._remembered: dict[bytes, tuple[tuple[Item, ...], bool]] = {}

    def feed(self, data: bytes) -> list[Item]:
        start = self._position
        self._position += len(data)
        self.stats.bytes_in += len(data)
        if not data:
            return []
        payload = bytes(data)
        known = self._remembered.get(payload)
        if known is not None:
            self.stats.frames_ok += 1
            remembered, has_errors = known
            return self._shift(remembered, start) if has_errors else list(remembered)
        try:
            items = self.decode(payload)
        except ShortPayload as exc:
            self.stats.bytes_discarded += len(data)
            return [DecodeError("short", start + exc.offset, exc.detail)]
        except Exception as exc:  # noqa: BLE001 - a decoder must never raise; the message keeps what went wrong
            self.stats.bytes_discarded += len(data)
            return [DecodeError("malformed", start, f"{type(exc).__name__}: {exc}")]
        self.stats.frames_ok += 1
        has_errors = DecodeError in map(type, items)  # no generator per notification (DecodeError is final)
        if self.max_remembered:
            if len(self._remembered) >= self.max_remembered:
                self._remembered.clear()
            self._remembered[payload] = (tuple(items), has_errors)
        return self._shift(items, start) if has_errors else items  # the table keeps its own tuple

    def _shift(self, items: Sequence[Item], start: int) -> list[Item]:
        shifted: list[Item] = []
        for item in items:
            if isinstance(item, DecodeError):
                item = replace(item, offset=start + item.offset)
                if item.reason == "trailing":
                    self.stats.bytes_discarded += self._position - item.offset
            shifted.append(item)
        return shifted

    @abstractmethod
    def decode(self, payload: bytes) -> list[Item]:
        """Items for one complete notification; raise :class:`ShortPayload` when it is too short."""

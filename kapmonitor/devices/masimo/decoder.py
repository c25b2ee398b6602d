"""Masimo ASCII 1 lines in, readings out: tokens read by key, ALARM and EXC bits as flags."""

from __future__ import annotations

import re
from datetime import datetime

from kapmonitor.core.readings import DecodeError, Item, Reading
from kapmonitor.devices.base import Decoder

PROTOCOL = "masimo-ascii"

# The device date is checked by shape (MD PnP has_date_and_time: '/' at 2 and 5, ' ' at 8, ':' at 11, 14).
_DATE = re.compile(rb"(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)")
_LINE_END = re.compile(rb"[\r\n]")

# KEY -> (metric, unit). Other keys (SPCO, SPMET, PVI, DESAT, PIDELTA, SPHB, ...) have no metric here yet.
FIELDS: dict[str, tuple[str, str]] = {
    "SPO2": ("spo2", "%"),
    "BPM": ("pulse_rate", "bpm"),
    "PI": ("perfusion_index", "%"),
}

ALARM_FLAGS: dict[int, tuple[str, ...]] = {
    0x0001: ("spo2_high_alarm",),
    0x0002: ("spo2_low_alarm",),
    0x0004: ("pulse_rate_high_alarm",),
    0x0008: ("pulse_rate_low_alarm",),
    0x0010: ("alarm_active",),
    0x0020: ("alarm_silenced",),
    0x0040: ("low_battery",),
    0x0100: ("spco_high_alarm",),
    0x0200: ("spco_low_alarm",),
    0x0400: ("spmet_high_alarm",),
    0x0800: ("spmet_low_alarm",),
    0x1000: ("desat_index_alarm",),
    0x2000: ("pi_delta_alarm",),
}

EXC_FLAGS: dict[int, tuple[str, ...]] = {
    0x000001: ("sensor_off", "no_sensor"),
    0x000002: ("invalid", "defective_sensor"),
    0x000004: ("low_perfusion",),
    0x000008: ("searching",),
    0x000010: ("artifact", "interference"),
    0x000020: ("sensor_off",),
    0x000040: ("ambient_light",),
    0x000080: ("invalid", "unrecognized_sensor"),
    0x000100: ("invalid", "incompatible_sensor"),
    0x000400: ("low_signal",),
    0x000800: ("masimo_set",),  # the normal state of a Masimo SET board, not a problem
    0x001000: ("no_cable",),
    0x002000: ("cable_life_expired",),
    0x004000: ("incompatible_cable",),
    0x008000: ("unrecognized_cable",),
    0x010000: ("defective_cable",),
    0x020000: ("sensor_calibrating",),
    0x040000: ("sensor_life_expired",),
    0x080000: ("emitter_temperature",),
    0x100000: ("sensor_current_limit",),
    0x200000: ("spco_low_confidence",),
    0x400000: ("spmet_low_confidence",),
}

# Our validity rule (protocols.md §7): these exceptions mean the printed numbers are stale or meaningless.
EXC_INVALIDATES = 0x01 | 0x02 | 0x08 | 0x20 | 0x80 | 0x100
MAX_LINE = 512


def flags_for(bits: int, table: dict[int, tuple[str, ...]]) -> frozenset[str]:
    return frozenset(f for bit, names in table.items() if bits & bit for f in names)


def _value(text: str) -> float | None:
    """A numeric field; all dashes (``---``, ``--.-``, ``+--``) = no value. ValueError if malformed."""
    text = text.rstrip("%")
    if text and set(text) <= set("-+.") and "-" in text:
        return None
    return float(text)


class MasimoAsciiDecoder(Decoder):
    protocol = PROTOCOL
    max_buffer = 1024

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._buf_start = 0  # stream offset of _buf[0]
        self._seen_line = False  # the first line after opening a port is usually partial: drop it quietly

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Item] = []
        while (end := _LINE_END.search(self._buf)) is not None:
            line = bytes(self._buf[: end.start()])
            offset = self._buf_start
            del self._buf[: end.end()]
            self._buf_start += end.end()
            if line.strip(b"\0 "):
                out.extend(self._line(line, offset))
        if len(self._buf) > MAX_LINE:
            out.append(DecodeError("line too long", self._buf_start, f"{len(self._buf)} bytes without CR/LF"))
            self._discard(len(self._buf))
        return out

    def _discard(self, n: int) -> None:
        self.stats.bytes_discarded += n
        self.stats.resyncs += 1
        del self._buf[:n]
        self._buf_start += n

    def _line(self, line: bytes, offset: int) -> list[Item]:
        first, self._seen_line = not self._seen_line, True
        date = _DATE.search(line)
        if date is None:
            self.stats.bytes_discarded += len(line)
            if first:
                return []
            self.stats.resyncs += 1
            return [DecodeError("no date", offset, line[:40].decode("ascii", "replace"))]
        out: list[Item] = []
        if date.start() > 0 and line[: date.start()].strip(b"\0 "):
            self.stats.bytes_discarded += date.start()
            self.stats.resyncs += 1
            if not first:
                out.append(DecodeError("garbage before date", offset, repr(line[: date.start()][:40])))
        t_device = _device_time(date)
        tokens = line[date.end() :].replace(b"\0", b"").decode("ascii", "replace").split()
        out.extend(self._readings(tokens, t_device, offset + date.start()))
        return out

    def _readings(self, tokens: list[str], t_device: datetime | None, offset: int) -> list[Item]:
        fields = {key: value for key, _, value in (tok.partition("=") for tok in tokens if "=" in tok)}
        errors: list[Item] = []
        bits = {"ALARM": 0, "EXC": 0}
        for key in bits:
            if key in fields:
                try:
                    bits[key] = int(fields[key], 16)
                except ValueError:
                    errors.append(DecodeError("malformed field", offset, f"{key}={fields[key]}"))
        flags = flags_for(bits["ALARM"], ALARM_FLAGS) | flags_for(bits["EXC"], EXC_FLAGS)
        stale = bool(bits["EXC"] & EXC_INVALIDATES)
        readings: list[Item] = []
        for key, (metric, unit) in FIELDS.items():
            if key not in fields:
                continue
            try:
                value = _value(fields[key])
            except ValueError:
                errors.append(DecodeError("malformed field", offset, f"{key}={fields[key]}"))
                value = None
            readings.append(Reading(metric, None if stale else value, unit, flags, t_device))
        if readings:
            self.stats.frames_ok += 1
        elif not errors:
            errors.append(DecodeError("no known fields", offset, " ".join(tokens)[:60]))
        return errors + readings


def _device_time(m: re.Match[bytes]) -> datetime | None:
    month, day, year, hour, minute, second = (int(g) for g in m.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError:
        return None

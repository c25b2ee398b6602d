"""One HL7 v2 ORU^R01 (IHE PCD-01) message in, kapmonitor items and the answer it deserves out.

Pure: text in, a :class:`ParsedMessage` out; nothing here raises on any input. The fields are split with the
separators the message declares in MSH-1/MSH-2 (python-hl7's full parse builds a container per sub-component and
costs about 2 ms a message here, four times the 2,000 messages/s budget; ``tests/test_hl7_message.py`` checks this
splitter against ``hl7.parse`` on generated messages). The answer itself is built with python-hl7 (``ack.py``).

What each OBX becomes (protocols.md section 15):
- OBX-3 an MDC code (or a vendor's own code in a table from ``resources/hl7_vendors``) of a metric kapmonitor
  records; OBX-6 its unit, converted to the metric's (kPa to mmHg, degrees F to C); an unknown code or a unit
  the metric cannot be in is an ``error`` item, reported once per code.
- OBX-14 (else OBR-7, else MSH-7) the device time, kept with the offset it was sent with. How long before the
  message it was observed (an NIBP reading is older than the message that carries it) goes with it, so the
  listener puts it that long before the message's arrival on the station's clock.
- OBX-11 ``X``/``D``/``W`` (no result, deleted, wrong): no value, flagged ``invalid``.
- A value no patient has (a sentinel, a negative rate) is not a reading: an ``implausible`` error item.
- A monitor in demo or training mode (MSH-11 ``D``/``T``, or a demo marker in MSH-3 or OBX-17): readings flagged
  ``demo``; the listener drops them.
- NA/MA arrays are waveform chunks, at the sample period or rate of their attribute OBX (IHE PCD WCM:
  ``MDC_ATTR_TIME_PD_SAMP``) or of the vendor table.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import DecodeError, Item, Reading, WaveChunk
from kapmonitor.devices.hl7 import codes

NO_RESULT_STATUSES = frozenset({"X", "D", "W"})
NOT_PATIENT_PROCESSING_IDS = frozenset({"D", "T"})  # MSH-11: debugging, training
MAX_UNKNOWN_REPORTED = 256  # distinct unknown codes remembered per monitor
MAX_AGE_US = 24 * 3600 * 1_000_000
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")
_SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_EUI64 = re.compile(r"^[0-9A-Fa-f]{16}$")


@dataclass(frozen=True)
class MonitorIdentity:
    """Who sent a message: what a bed can be bound by."""

    sending_app: str = ""  # MSH-3, first component
    facility: str = ""  # MSH-4, first component
    eui64: str = ""  # OBX-18 (or MSH-3 when its type is EUI-64), upper-case hex
    model: str = ""
    patient_id: str = ""  # PID-3, first identifier
    location: str = ""  # PV1-3 as sent

    @property
    def key(self) -> str:
        """A stable name for the monitor: its EUI-64, else its application and facility."""
        return self.eui64 or "/".join(p for p in (self.sending_app, self.facility) if p) or "unnamed-monitor"


@dataclass
class ParsedMessage:
    control_id: str = ""
    ack_code: str = "AA"  # AA accepted, AE accepted with errors, AR rejected
    reason: str = ""
    error_code: str = ""  # HL7 table 0357, for the ACK's ERR segment
    msh: str = ""  # the MSH segment as received (the ACK is built from it)
    identity: MonitorIdentity = field(default_factory=MonitorIdentity)
    demo: bool = False
    items: list[Item] = field(default_factory=list)
    ages_us: list[int] = field(default_factory=list)  # per item: observed this long before the message

    def add(self, item: Item, age_us: int = 0) -> None:
        self.items.append(item)
        self.ages_us.append(age_us)

    def reject(self, reason: str, code: str, offset: int, kind: str) -> ParsedMessage:
        self.ack_code, self.reason, self.error_code = "AR", reason, code
        self.add(DecodeError(kind, offset, reason))
        return self

    def warn(self, reason: str, code: str) -> None:
        if self.ack_code == "AA":
            self.ack_code, self.reason, self.error_code = "AE", reason, code


@dataclass(frozen=True)
class Separators:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, text: str) -> str:
        if self.escape not in text:
            return text
        e = self.escape
        for code, char in (("F", self.field), ("S", self.component), ("R", self.repetition), ("T", self.subcomponent)):
            text = text.replace(f"{e}{code}{e}", char)
        return text.replace(f"{e}E{e}", e)

    def components(self, value: str) -> list[str]:
        first = value.split(self.repetition, 1)[0] if self.repetition in value else value
        parts = first.split(self.component)
        if self.subcomponent in first:
            parts = [c.split(self.subcomponent, 1)[0] for c in parts]
        if self.escape in first:
            parts = [self.unescape(c) for c in parts]
        return parts


def _component(parts: list[str], n: int) -> str:
    return parts[n - 1].strip() if len(parts) >= n else ""


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # MSH-18 8859/1, or a sender that did not say: never fail on the bytes


@lru_cache(maxsize=512)  # the OBX of one message (and of consecutive ones) mostly share their times
def parse_ts(text: str) -> datetime | None:
    """An HL7 TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``): aware with its own offset, naive without."""
    m = _TS.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, frac, offset = m.groups()
    try:
        tz = None
        if offset:
            sign = -1 if offset[0] == "-" else 1
            minutes = int(offset[1:3]) * 60 + int(offset[3:5])
            tz = timezone(sign * timedelta(minutes=minutes))
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None


def _age_us(message_time: datetime | None, observed: datetime | None) -> int:
    if message_time is None or observed is None or (message_time.tzinfo is None) != (observed.tzinfo is None):
        return 0
    age = round((message_time - observed).total_seconds() * 1_000_000)
    return min(max(age, 0), MAX_AGE_US)


class MessageReader:
    """Reads messages from one monitor; remembers which unknown codes it has already reported."""

    def __init__(self) -> None:
        self._reported: set[tuple[str, str]] = set()

    def parse(self, raw: bytes, offset: int = 0) -> ParsedMessage:
        try:
            return self._parse(decode_text(raw), offset)
        except Exception as exc:  # noqa: BLE001 - any bytes at all must become an answer, never an exception
            out = ParsedMessage()
            return out.reject(f"message could not be read: {type(exc).__name__}", "207", offset, "malformed")

    def _parse(self, text: str, offset: int) -> ParsedMessage:
        out = ParsedMessage()
        segments = [s for s in re.split(r"\r\n|\r|\n", text.strip("\x00 \t\r\n")) if s.strip()]
        if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
            return out.reject("no MSH segment: not an HL7 message", "100", offset, "no_msh")
        msh = segments[0]
        fs = msh[3]
        end = msh.find(fs, 4)
        enc = msh[4 : end if end > 0 else 8][:4]
        enc += "^~\\&"[len(enc) :]  # a sender that declares fewer encoding characters uses the defaults for the rest
        if fs.isalnum() or fs.isspace() or fs in enc or len(set(enc)) < 4:
            return out.reject("MSH-1/MSH-2 separators are not valid", "102", offset, "malformed")
        sep = Separators(fs, *enc)
        out.msh = msh
        mf = msh.split(fs)

        def msh_field(n: int) -> str:
            return mf[n - 1] if len(mf) >= n else ""

        out.control_id = sep.unescape(msh_field(10).strip())
        kind = sep.components(msh_field(9))
        if _component(kind, 1).upper() != "ORU" or _component(kind, 2).upper() not in ("R01", ""):
            shown = "^".join(p for p in kind if p) or "(none)"
            return out.reject(f"message type {shown} is not taken here (only ORU^R01)", "200", offset, "unsupported")
        app = sep.components(msh_field(3))
        identity = {"sending_app": _component(app, 1), "facility": _component(sep.components(msh_field(4)), 1)}
        if _component(app, 3).upper().replace("_", "-") == "EUI-64" and _EUI64.match(_component(app, 2)):
            identity["eui64"] = _component(app, 2).upper()
        out.demo = _component(sep.components(msh_field(11)), 1).upper() in NOT_PATIENT_PROCESSING_IDS or any(
            marker in msh_field(3).upper() for marker in codes.demo_markers()
        )
        context = _Context(sep, offset, parse_ts(_component(sep.components(msh_field(7)), 1)))
        for number, segment in enumerate(segments[1:], start=2):
            self._segment(out, context, identity, number, segment)
        out.identity = MonitorIdentity(**identity)
        for item, age in context.finish_waves(out):
            out.add(item, age)
        return out

    def _segment(self, out: ParsedMessage, ctx: _Context, identity: dict[str, str], n: int, segment: str) -> None:
        sep = ctx.sep
        name = segment[:3]
        if not _SEGMENT_NAME.match(name) or (len(segment) > 3 and segment[3] != sep.field):
            shown = segment[:20] + ("..." if len(segment) > 20 else "")
            out.add(DecodeError("segment", ctx.offset, f"segment {n} is not an HL7 segment: {shown!r}"))
            out.warn(f"segment {n} is malformed and was skipped", "100")
            return
        fields = segment.split(sep.field)
        if name == "PID":
            identity["patient_id"] = _component(sep.components(_field(fields, 3)), 1)
        elif name == "PV1":
            identity["location"] = "^".join(p for p in sep.components(_field(fields, 3)) if p)
        elif name == "OBR":
            ctx.obr_time = parse_ts(_component(sep.components(_field(fields, 7)), 1))
        elif name == "OBX":
            equipment = sep.components(_field(fields, 18))
            if _EUI64.match(_component(equipment, 1)):
                identity.setdefault("eui64", _component(equipment, 1).upper())
                if not identity.get("model") and identity["eui64"] == _component(equipment, 1).upper():
                    identity["model"] = _component(equipment, 2)
            self._obx(out, ctx, fields)

    def _obx(self, out: ParsedMessage, ctx: _Context, fields: list[str]) -> None:
        sep = ctx.sep
        set_id = _field(fields, 1).strip() or "?"
        vtype = _field(fields, 2).strip().upper()
        ident = sep.components(_field(fields, 3))
        code, name, system = _component(ident, 1), _component(ident, 2), _component(ident, 3).upper()
        sub_id = _field(fields, 4).strip()
        value = _field(fields, 5)
        units = sep.components(_field(fields, 6))
        if ctx.note_sample_timing(code, name, sub_id, value, units):
            return
        if not vtype and not value.strip():
            return  # a device-hierarchy OBX (MDS, VMD, channel): it describes the monitor, carries no value
        metric, vendor = self._metric(code, name, system)
        if metric is None:
            self._unknown(out, ctx, set_id, code, name, system)
            return
        status = _field(fields, 11).strip().upper()
        observed = parse_ts(_component(sep.components(_field(fields, 14)), 1)) or ctx.obr_time or ctx.message_time
        age = _age_us(ctx.message_time, observed)
        flags = {"demo"} if out.demo or _is_demo(_field(fields, 17)) else set()
        if vtype in ("NA", "MA") or metric == "pleth":
            if status not in NO_RESULT_STATUSES:
                ctx.waves.append(_Wave(set_id, metric, sub_id, vtype, value, vendor, frozenset(flags), age))
            return
        if vendor is not None and vendor.unit and not any(units):
            units = [vendor.unit]
        conversion = codes.convert_unit(metric, tuple(units[:2]))
        if conversion is None:
            shown = "^".join(u for u in units if u)
            out.add(
                DecodeError("unit", ctx.offset, f"OBX {set_id}: {metric} in {shown!r} (expected {unit_of(metric)})")
            )
            out.warn(f"OBX {set_id}: unit {shown} not usable for {metric}", "103")
            return
        unit = conversion.unit
        if status in NO_RESULT_STATUSES:
            out.add(Reading(metric, None, unit, frozenset({*flags, "invalid"}), observed), age)
            return
        text = sep.unescape(value.split(sep.repetition, 1)[0].split(sep.component, 1)[0]).strip()
        if not text:
            out.add(Reading(metric, None, unit, frozenset(flags), observed), age)
            return
        try:
            number = float(text)
        except ValueError:
            out.add(DecodeError("value", ctx.offset, f"OBX {set_id}: {metric} value {text[:40]!r} is not a number"))
            out.warn(f"OBX {set_id}: value is not a number", "102")
            return
        sentinels = codes.vendor_sentinels().get(system, frozenset())
        converted = conversion.convert(number)
        low, high = codes.PLAUSIBLE.get(metric, (-math.inf, math.inf))
        if number in sentinels or not math.isfinite(converted) or not low <= converted <= high:
            out.add(
                DecodeError(
                    "implausible", ctx.offset, f"OBX {set_id}: {metric} {text[:20]} is no measurement; not recorded"
                )
            )
            return
        out.add(Reading(metric, round(converted, 3), unit, frozenset(flags), observed), age)

    @staticmethod
    def _metric(code: str, name: str, system: str) -> tuple[str | None, codes.VendorCode | None]:
        if system in ("MDC", "") or name.upper().startswith("MDC_"):
            found = codes.mdc_metric(code, name)
            if found is not None:
                return found, None
        vendor = codes.vendor_codes().get((system, code))
        return (vendor.metric, vendor) if vendor is not None else (None, None)

    def _unknown(self, out: ParsedMessage, ctx: _Context, set_id: str, code: str, name: str, system: str) -> None:
        key = (system, code or name)
        if key in self._reported:
            return
        if len(self._reported) < MAX_UNKNOWN_REPORTED:
            self._reported.add(key)
        shown = "^".join(p for p in (code, name, system) if p) or "(empty)"
        out.add(DecodeError("unknown_code", ctx.offset, f"OBX {set_id}: {shown} is not a metric kapmonitor records"))


def _field(fields: list[str], n: int) -> str:
    return fields[n] if len(fields) > n else ""


def _is_demo(method: str) -> bool:
    if not method:
        return False
    upper = method.upper()
    return any(marker in upper for marker in codes.demo_markers())


@dataclass(frozen=True)
class _Wave:
    set_id: str
    metric: str
    sub_id: str
    vtype: str
    value: str
    vendor: codes.VendorCode | None
    flags: frozenset[str]
    age_us: int


@dataclass
class _Context:
    """What a message's OBX share: separators, times, and the sample timing of its waveforms."""

    sep: Separators
    offset: int
    message_time: datetime | None
    obr_time: datetime | None = None
    rates: dict[str, float] = field(default_factory=dict)  # wave OBX-4 -> samples per second
    waves: list[_Wave] = field(default_factory=list)

    def note_sample_timing(self, code: str, name: str, sub_id: str, value: str, units: list[str]) -> bool:
        """An attribute OBX giving a waveform's sample period or rate; its OBX-4 is the wave's plus one level."""
        upper = name.upper()
        is_period = upper in codes.SAMPLE_PERIOD_NAMES or (code.isdigit() and int(code) in codes.SAMPLE_PERIOD_CODES)
        if not is_period and upper not in codes.SAMPLE_RATE_NAMES:
            return False
        try:
            number = float(value.split(self.sep.component, 1)[0])
        except ValueError:
            return True
        if is_period:
            spelled = " ".join(units).upper()
            seconds = number / 1_000_000 if "MICRO" in spelled else number
            seconds = seconds / 1000 if ("MILLI" in spelled or "MS" in spelled.split()) else seconds
            rate = 1.0 / seconds if seconds > 0 else 0.0
        else:
            rate = number
        rate = round(rate, 3)  # a period of 13.3333 ms is 75 Hz, not 75.0002
        if 0 < rate <= 10_000:
            self.rates[sub_id.rsplit(".", 1)[0] if "." in sub_id else sub_id] = rate
        return True

    def finish_waves(self, out: ParsedMessage) -> list[tuple[Item, int]]:
        found: list[tuple[Item, int]] = []
        for wave in self.waves:
            rate = self.rates.get(wave.sub_id) or (wave.vendor.rate_hz if wave.vendor else None)
            if not rate:
                found.append(
                    (DecodeError("wave", self.offset, f"OBX {wave.set_id}: {wave.metric} without a sample rate"), 0)
                )
                continue
            samples = self._samples(wave)
            if samples is None:
                found.append(
                    (DecodeError("wave", self.offset, f"OBX {wave.set_id}: {wave.metric} samples are not numbers"), 0)
                )
                out.warn(f"OBX {wave.set_id}: waveform samples are not numbers", "102")
                continue
            if samples:
                found.append((WaveChunk(wave.metric, rate, samples, wave.flags), wave.age_us))
        return found

    def _samples(self, wave: _Wave) -> tuple[int, ...] | None:
        sep = self.sep
        if wave.vtype == "MA":  # multiplexed: one repetition per sample time, channels as components; take the first
            parts = [r.split(sep.component, 1)[0] for r in wave.value.split(sep.repetition)]
        else:
            parts = wave.value.replace(sep.repetition, sep.component).split(sep.component)
        try:
            values = [float(p) for p in parts if p.strip()]
        except ValueError:
            return None
        if not all(math.isfinite(v) for v in values):
            return None
        return tuple(round(v) for v in values)

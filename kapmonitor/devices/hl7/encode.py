"""Writing ORU^R01 (IHE PCD-01) messages: what the simulated monitor sends and what kapmonitor sends on to a
clinic's interface engine. Codes and units come from the metric vocabulary (core/metrics.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from kapmonitor.core.metrics import metric_info

PROFILE = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
MONITORING = "182777000^monitoring of patient^SCT"
# OBX-6 units as MDC dimension codes, by kapmonitor unit.
MDC_UNITS: dict[str, str] = {
    "%": "262688^MDC_DIM_PERCENT^MDC",
    "bpm": "264864^MDC_DIM_BEAT_PER_MIN^MDC",
    "/min": "264928^MDC_DIM_RESP_PER_MIN^MDC",
    "mmHg": "266016^MDC_DIM_MMHG^MDC",
    "°C": "268192^MDC_DIM_DEGC^MDC",
    "": "262656^MDC_DIM_DIMLESS^MDC",
}
_ids = itertools.count(1)


def escape(text: str) -> str:
    """Free text as an HL7 field value (the default separators)."""
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("~", "\\R\\").replace("&", "\\T\\")
    return out.replace("\r", " ").replace("\n", " ")


def hl7_time(t: datetime) -> str:
    """``YYYYMMDDHHMMSS[.SSS]+ZZZZ`` (an aware time keeps its offset; a naive one is written as it is)."""
    text = t.strftime("%Y%m%d%H%M%S")
    if t.microsecond:
        text += f".{t.microsecond // 1000:03d}"
    return text + (t.strftime("%z") if t.tzinfo is not None else "")


@dataclass(frozen=True)
class Observation:
    """One OBX: a numeric (``value``) or a waveform (``samples`` at ``rate_hz``), or a coded local entry."""

    identifier: str  # OBX-3, code^name^system
    time: datetime
    value: float | str | None = None
    units: str = ""  # OBX-6
    value_type: str = "NM"
    sub_id: str = ""
    status: str = "R"
    method: str = ""  # OBX-17
    samples: tuple[int, ...] = ()
    rate_hz: float | None = None


def metric_observation(
    metric: str, value: float | None, time: datetime, *, sub_id: str = "", status: str = "R", method: str = ""
) -> Observation:
    info = metric_info(metric)
    if info.mdc_code is None:
        raise ValueError(f"metric {metric!r} has no MDC code")
    return Observation(
        f"{info.mdc_code}^{info.mdc_name}^MDC",
        time,
        value,
        MDC_UNITS.get(info.unit, ""),
        "NM",
        sub_id or f"1.1.1.{info.mdc_code}",
        status,
        method,
    )


def wave_observation(metric: str, samples: Sequence[int], rate_hz: float, time: datetime) -> Observation:
    info = metric_info(metric)
    if info.mdc_code is None:
        raise ValueError(f"metric {metric!r} has no MDC code")
    return Observation(
        f"{info.mdc_code}^{info.mdc_name}^MDC",
        time,
        None,
        MDC_UNITS[""],
        "NA",
        f"1.1.1.{info.mdc_code}",
        samples=tuple(samples),
        rate_hz=rate_hz,
    )


@dataclass(frozen=True)
class MessageHeader:
    sending_app: str  # MSH-3 as a whole (NAME^EUI64^EUI-64)
    facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"
    patient_id: str = ""  # PID-3
    patient_name: str = ""  # PID-5, family^given
    location: str = ""  # PV1-3
    equipment: str = ""  # OBX-18
    extra_segments: tuple[str, ...] = field(default_factory=tuple)  # e.g. NTE after the OBR


def _number(value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value)
    return f"{value:.6g}" if not float(value).is_integer() else str(int(value))


def oru_r01(
    header: MessageHeader, observations: Iterable[Observation], message_time: datetime, control_id: str | None = None
) -> str:
    """One ORU^R01 v2.6 with segments ending in CR (no MLLP framing)."""
    control = control_id or f"{message_time:%Y%m%d%H%M%S}{next(_ids):05d}"
    now = hl7_time(message_time)
    segments = [
        f"MSH|^~\\&|{header.sending_app}|{header.facility}|{header.receiving_app}|{header.receiving_facility}|"
        f"{now}||ORU^R01^ORU_R01|{control}|{header.processing_id}|2.6|||NE|AL||UNICODE UTF-8|||{PROFILE}",
        f"PID|||{header.patient_id}||{header.patient_name or '^'}",
        f"PV1||O|{header.location}",
        f"OBR|1|{control}^{header.sending_app.split('^')[0]}||{MONITORING}|||{now}",
        *header.extra_segments,
    ]
    n = 0
    for obs in observations:
        n += 1
        if obs.samples:
            n, lines = _wave_segments(n, obs, header)
            segments += lines
            continue
        segments.append(
            f"OBX|{n}|{obs.value_type}|{obs.identifier}|{obs.sub_id}|{_number(obs.value)}|{obs.units}|||||"
            f"{obs.status}|||{hl7_time(obs.time)}|||{obs.method}|{header.equipment}"
        )
    return "\r".join(segments) + "\r"


def _wave_segments(n: int, obs: Observation, header: MessageHeader) -> tuple[int, list[str]]:
    """The array OBX and, beneath it, its sample period (IHE PCD Waveform Content Module)."""
    samples = "^".join(str(s) for s in obs.samples)
    wave = (
        f"OBX|{n}|NA|{obs.identifier}|{obs.sub_id}|{samples}|{obs.units}|||||{obs.status}|||{hl7_time(obs.time)}"
        f"||||{header.equipment}"
    )
    if not obs.rate_hz:  # the receiver knows the rate from elsewhere (a vendor's fixed rate)
        return n, [wave]
    period_ms = 1000.0 / obs.rate_hz
    return n + 1, [
        wave,
        f"OBX|{n + 1}|NM|67981^MDC_ATTR_TIME_PD_SAMP^MDC|{obs.sub_id}.1|{period_ms:.9g}|264338^MDC_DIM_MILLI_SEC^MDC"
        f"|||||R|||{hl7_time(obs.time)}||||{header.equipment}",
    ]

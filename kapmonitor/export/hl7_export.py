"""A recorded session as HL7 v2.6 ORU^R01 (IHE PCD-01) messages, for a clinic's interface engine or EHR.

- Vitals are charted, not dumped, as EHR flowsheets chart monitor data (and as the FHIR export does): per metric
  the first trusted reading with a value in each minute, with its own time in OBX-14, MDC code in OBX-3 and
  MDC unit in OBX-6. Every NIBP measurement is sent. One message per minute that has any.
- Doses and ratings are kapmonitor's own observations, with local codes in the ``99KAP`` coding system (below):
  one message per entry at its time, status ``F``; a voided entry is sent with status ``W`` (wrong).
- The patient is the pseudonymous code in PID-3 (no name, no birth date); PV1-3 the room.
- Control ids say what each message is (``hl7_messages``), the same every time the session is written, so the
  outbox never queues one twice and an interface engine can recognise a message it has already taken.

``write_hl7`` writes the messages to a file: segments end in CR LF, messages are separated by a blank line (what
``kapmonitor decode --protocol hl7-pcd01`` and interface engines' file readers take). Each message of the file
carries the audit chain's head, as every other export does, in a note after its OBR (see ``audit_note``): the
file goes where the record cannot be checked, and ``kapmonitor audit verify --anchor SEQ:HASH`` proves later
that the record it was written from is unchanged. Messages queued for the interface engine do not carry it: the
outbox vouches for what it sends through the audit trail itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from kapmonitor.alarms.engine import UNTRUSTED_FLAGS
from kapmonitor.core.clock import to_datetime
from kapmonitor.core.metrics import METRICS
from kapmonitor.devices.hl7.encode import MessageHeader, Observation, escape, metric_observation, oru_r01
from kapmonitor.export.loader import RecordLoader, SessionData, load_session
from kapmonitor.session.entries import BolusDose, InfusionEvent, IntranasalDevice, Rating
from kapmonitor.store.hl7_outbox import Hl7Outbox, QueuedMessage

LOCAL = "99KAP"
APPLICATION = "KAPMONITOR"
CHART_INTERVAL_US = 60_000_000
NIBP = ("nibp_systolic", "nibp_diastolic", "nibp_mean")
NOT_CHARTED = ("cuff_pressure", "rr_interval")
ROUTES = {  # SNOMED CT route of administration, in OBX-17 (observation method)
    "iv": "47625008^Intravenous route^SCT",
    "im": "78421000^Intramuscular route^SCT",
    "intranasal": "46713006^Nasal route^SCT",
    "sublingual": "37839007^Sublingual route^SCT",
    "oral": "26643006^Oral route^SCT",
}
RATE_UNITS = {"mg/kg/h": "mg/kg/h^mg/kg/h^UCUM", "mg/h": "mg/h^mg/h^UCUM", "mL/h": "mL/h^mL/h^UCUM"}


@dataclass(frozen=True)
class OutboundMessage:
    control_id: str
    t_us: int  # the time the message speaks for (what orders the queue)
    text: str  # segments end in CR


def _local(code: str, text: str) -> str:
    return f"{code}^{escape(text)}^{LOCAL}"


def _at(t_us: int) -> datetime:
    return to_datetime(t_us).astimezone()


def audit_note(audit_head: str) -> str:
    """The NTE that prints the audit head: NTE-2 ``L`` (the filler, kapmonitor, is the comment's source), NTE-3 the
    text every export prints (``audit head SEQ:HASH``), NTE-4 the comment type as a local code. An NTE after the
    OBR is in the ORU^R01 structure, so an interface engine takes it as a note on the observations."""
    text = f"audit head {audit_head}" if audit_head else "audit trail empty"
    return f"NTE|1|L|{escape(text)}|{_local('KAP-AUDIT-HEAD', 'kapmonitor audit chain head')}"


def _header(
    data: SessionData, receiving_app: str = "", receiving_facility: str = "", with_audit_head: bool = False
) -> MessageHeader:
    return MessageHeader(
        sending_app=APPLICATION,
        receiving_app=receiving_app,
        receiving_facility=receiving_facility,
        patient_id=f"{escape(data.info.patient)}^^^{APPLICATION}^PI",
        location=escape(data.info.room),
        extra_segments=(audit_note(data.audit_head),) if with_audit_head else (),
    )


def _charted(data: SessionData) -> dict[int, list[tuple[int, Observation]]]:
    """Minute (UTC microseconds // interval) -> that minute's observations, each with its time."""
    minutes: dict[int, list[tuple[int, Observation]]] = {}
    for track in data.numerics:
        info = METRICS.get(track.metric)
        if info is None or info.waveform or info.mdc_code is None or track.metric in NOT_CHARTED:
            continue
        seen: set[int] = set()
        for t_us, value, flags in zip(track.t_us.tolist(), track.values.tolist(), track.flags, strict=True):
            if np.isnan(value) or set(flags.split(",")) & UNTRUSTED_FLAGS:
                continue
            minute = int(t_us) // CHART_INTERVAL_US
            if track.metric not in NIBP and minute in seen:
                continue
            seen.add(minute)
            obs = metric_observation(track.metric, float(value), _at(int(t_us)))
            minutes.setdefault(minute, []).append((int(t_us), obs))
    return minutes


def _dose_observations(entry: BolusDose | IntranasalDevice | InfusionEvent, status: str) -> list[Observation]:
    when = _at(entry.t_us)
    out = [Observation(_local("KAP-DRUG", "Drug"), when, entry.drug, value_type="ST", sub_id="1", status=status)]
    if isinstance(entry, InfusionEvent):
        out.append(
            Observation(
                _local("KAP-INFUSION", "Infusion change"),
                when,
                entry.action,
                value_type="ST",
                sub_id="2",
                status=status,
                method=ROUTES["iv"],
            )
        )
        if entry.rate is not None:
            out.append(
                Observation(
                    _local("KAP-INFUSION-RATE", "Infusion rate"),
                    when,
                    entry.rate,
                    RATE_UNITS.get(entry.rate_unit, escape(entry.rate_unit)),
                    sub_id="3",
                    status=status,
                    method=ROUTES["iv"],
                )
            )
    else:
        route = "intranasal" if isinstance(entry, IntranasalDevice) else entry.route
        out.append(
            Observation(
                _local("KAP-DOSE", "Dose given"),
                when,
                entry.mg,
                "mg^mg^UCUM",
                sub_id="2",
                status=status,
                method=ROUTES.get(route, escape(route)),
            )
        )
    if entry.lot:
        out.append(
            Observation(_local("KAP-LOT", "Lot number"), when, entry.lot, value_type="ST", sub_id="9", status=status)
        )
    return out


def _rating_observations(entry: Rating, status: str) -> list[Observation]:
    when = _at(entry.t_us)
    scale = entry.scale.upper()
    out = [
        Observation(
            _local(f"KAP-{scale}", f"{entry.scale} {entry.form or 'score'}"),
            when,
            entry.score,
            sub_id="1",
            status=status,
        )
    ]
    out += [
        Observation(
            _local(f"KAP-{scale}-{key.upper()}", f"{entry.scale} item {key}"),
            when,
            value,
            sub_id=f"1.{n}",
            status=status,
        )
        for n, (key, value) in enumerate(entry.values, start=1)
    ]
    return out


def hl7_messages(
    data: SessionData,
    *,
    settled_before_us: int | None = None,
    receiving_app: str = "",
    receiving_facility: str = "",
    with_audit_head: bool = False,
) -> list[OutboundMessage]:
    """Every message of the session, in time order. With ``settled_before_us`` (a session still recording), only
    the minutes of vitals that ended before then: a monitor's reading may arrive minutes after it was measured.

    Control ids say what a message is, so writing the session again gives the same ids: ``KAP<s>V<minute>`` for
    a minute of vitals, ``KAP<s>E<ref>`` for a clinical entry, with ``A<n>`` after its n-th amendment (status
    ``C``, corrected) and ``W`` once voided (status ``W``). ``with_audit_head`` adds the audit head's NTE to each.
    """
    header = _header(data, receiving_app, receiving_facility, with_audit_head)
    pending: list[tuple[int, int, str, list[Observation]]] = []  # (time, kind order, control id, observations)
    for minute, found in _charted(data).items():
        end_us = (minute + 1) * CHART_INTERVAL_US
        if settled_before_us is not None and end_us > settled_before_us:
            continue
        found.sort(key=lambda p: p[0])
        pending.append((end_us - 1, 0, f"KAP{data.info.id}V{minute}", [obs for _, obs in found]))
    for current in data.record.current():
        entry = current.entry
        status = "W" if current.void else ("C" if current.amendments else "F")
        control = f"KAP{data.info.id}E{current.ref}"
        control += "W" if current.void else (f"A{len(current.amendments)}" if current.amendments else "")
        if isinstance(entry, BolusDose | IntranasalDevice | InfusionEvent):
            pending.append((entry.t_us, 1, control, _dose_observations(entry, status)))
        elif isinstance(entry, Rating):
            pending.append((entry.t_us, 2, control, _rating_observations(entry, status)))
    pending.sort(key=lambda p: (p[0], p[1]))
    return [
        OutboundMessage(control, t_us, oru_r01(header, observations, _at(t_us), control))
        for t_us, _, control, observations in pending
    ]


def write_hl7(data: SessionData, out: Path) -> list[Path]:
    messages = hl7_messages(data, with_audit_head=True)
    text = "\r\n".join(m.text.rstrip("\r").replace("\r", "\r\n") + "\r\n" for m in messages)
    out.write_bytes(text.encode("utf-8"))
    return [out]


def queue_session(
    engine: Engine,
    session_id: int,
    destination: str,
    *,
    settled_before_us: int | None = None,
    record_loader: RecordLoader | None = None,
) -> int:
    """Put a recorded session's messages in the outbox for ``destination`` (those already there are not queued
    again); returns how many were new. The waveforms are not read: no message carries them, and a recording
    session is queued again every few seconds."""
    data = load_session(engine, session_id, record_loader, waves=False)
    messages = hl7_messages(data, settled_before_us=settled_before_us)
    queued = [QueuedMessage(m.control_id, m.t_us, m.text) for m in messages]
    return Hl7Outbox(engine).enqueue(destination, queued, session_id)

"""A realistic recorded esketamine session for the export tests, written through the real Recorder.

45 minutes: SpO2 and pulse rate at 1 Hz and pleth at 75 Hz (chunks of 25 samples, placed by a SampleClock) from
an oximeter, NIBP every 5 minutes from a cuff, a 30-second hole in the oximeter data (finger out of the probe),
flagged readings, and a clinical record with two 28 mg sprays, MOAA/S, CADSS and patient ratings, notes and a
discharge. The record is handed to ``load_session`` as the record loader, so these tests do not depend on the
clinical store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.clock import SampleClock
from kapmonitor.core.readings import LinkEvent, Reading, WaveChunk
from kapmonitor.export.loader import SessionData, load_session
from kapmonitor.session.entries import (
    Confirmation,
    Discharged,
    IntranasalDevice,
    Note,
    QuickEvent,
    Rating,
)
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

S = 1_000_000
MIN = 60 * S
T0 = 1_763_700_000_000_000  # whole second: 2025-11-21T04:40:00Z
DURATION_S = 45 * 60
GAP = (600, 630)  # seconds after T0 with nothing from the oximeter
OXIMETER = "nonin-df7@/dev/ttyUSB0"
CUFF = "suntech-advantage@/dev/ttyUSB1"
PATIENT = "KAP-0042"
NURSE = "R. Ortiz"
PLETH_RATE = 75.0
CHUNK = 25
BP_TIMES_S = tuple(range(60, DURATION_S, 300))  # every 5 min from 1 min in
FIRST_SPRAY_S = 120
DISCHARGE_S = 2640


def spo2_at(s: int) -> float:
    return 97.0 - (2.0 if 1500 <= s < 1560 else 0.0)


def pulse_at(s: int) -> float:
    return 72.0 + (s // 60) % 7


def bp_at(s: int) -> tuple[float, float, float]:
    rise = 30.0 if 1800 <= s <= 2600 else 0.0
    sys, dia = 128.0 + rise + (s // 300) % 3, 82.0 + rise / 2
    return sys, dia, round((sys + 2 * dia) / 3)


def pleth_sample(i: int) -> int:
    return int(2000 + 1500 * math.sin(2 * math.pi * 1.2 * i / PLETH_RATE))


def flags_at(s: int) -> frozenset[str]:
    if 1200 <= s < 1205:
        return frozenset({"artifact"})
    return frozenset()


def _oximeter_items() -> list[Reading | WaveChunk | LinkEvent]:
    items: list[Reading | WaveChunk | LinkEvent] = [LinkEvent("connected", "", T0 - S // 2, OXIMETER)]
    clock = SampleClock(PLETH_RATE)
    count = 0
    for s in range(DURATION_S):
        if GAP[0] <= s < GAP[1]:
            if s == GAP[0]:
                items.append(LinkEvent("disconnected", "finger out", T0 + s * S, OXIMETER))
            continue
        if s == GAP[1]:
            items.append(LinkEvent("connected", "", T0 + s * S, OXIMETER))
        for k in range(3):
            arrival = T0 + s * S + (k + 1) * S // 3
            samples = tuple(pleth_sample(count + j) for j in range(CHUNK))
            items.append(WaveChunk("pleth", PLETH_RATE, samples, t_us=clock.place(CHUNK, arrival), device=OXIMETER))
            count += CHUNK
        t = T0 + s * S
        if s == 1300:  # the probe slipped: no value, flagged
            items.append(Reading("spo2", None, "%", frozenset({"sensor_off"}), t_us=t, device=OXIMETER))
        else:
            items.append(Reading("spo2", spo2_at(s), "%", flags_at(s), t_us=t, device=OXIMETER))
        items.append(Reading("pulse_rate", pulse_at(s), "bpm", flags_at(s), t_us=t, device=OXIMETER))
    return items


def _cuff_items() -> list[Reading]:
    items = []
    for s in BP_TIMES_S:
        sys, dia, mean = bp_at(s)
        t = T0 + s * S
        items += [
            Reading("nibp_systolic", sys, "mmHg", t_us=t, device=CUFF),
            Reading("nibp_diastolic", dia, "mmHg", t_us=t, device=CUFF),
            Reading("nibp_mean", mean, "mmHg", t_us=t, device=CUFF),
        ]
    return items


def clinical_record() -> SessionRecord:
    record = SessionRecord("intranasal-esketamine")

    def at(s: int) -> dict[str, object]:
        return {"t_us": T0 + s * S, "entered_us": T0 + s * S + 5 * S, "author": NURSE}

    record.add(Rating(**at(90), scale="moaas", values=(("level", 5),), score=5))  # type: ignore[arg-type]
    record.add(IntranasalDevice(**at(FIRST_SPRAY_S), lot="LOT-A1"))  # type: ignore[arg-type]
    record.add(IntranasalDevice(**at(FIRST_SPRAY_S + 300), lot="LOT-B2"))  # type: ignore[arg-type]
    record.add(Note(**at(615), text="Probe off while the patient adjusted the eyeshades"))  # type: ignore[arg-type]
    for minute, level in ((15, 4), (30, 3), (45, 4)):
        s = FIRST_SPRAY_S + minute * 60
        if s < DURATION_S:
            record.add(Rating(**at(s), scale="moaas", values=(("level", level),), score=level))  # type: ignore[arg-type]
    record.add(QuickEvent(**at(1000), code="music-change", label="Music changed"))  # type: ignore[arg-type]
    cadss = tuple((f"item{i}", 1 if i < 9 else 0) for i in range(1, 24))
    record.add(Rating(**at(2520), scale="cadss", values=cadss, score=8))  # type: ignore[arg-type]
    record.add(Rating(**at(2530), scale="patient-vas", values=(("dissociation", 4),), score=None))  # type: ignore[arg-type]
    record.add(Note(**at(2550), text="Feels calm, some visual distortion; BP up as expected"))  # type: ignore[arg-type]
    record.add(Confirmation(**at(2600), item="ride-home"))  # type: ignore[arg-type]
    record.add(Discharged(**at(DISCHARGE_S)))  # type: ignore[arg-type]
    return record


def alarm_log() -> tuple[AlarmEvent, ...]:
    return (
        AlarmEvent(T0 + 1500 * S, "spo2_low", "medium", "active", "physiological", OXIMETER, "spo2", 95.0, 96.0),
        AlarmEvent(T0 + 1560 * S, "spo2_low", "medium", "cleared", "physiological", OXIMETER, "spo2"),
    )


@dataclass(frozen=True)
class RecordedSession:
    url: str
    session_id: int
    record: SessionRecord
    alarms: tuple[AlarmEvent, ...]

    def load(self, engine: Engine) -> SessionData:
        return load_session(engine, self.session_id, record_loader=lambda _e, _s: self.record, alarms=self.alarms)


def record_session(directory: Path) -> RecordedSession:
    url = f"sqlite:///{directory / 'export.sqlite'}"
    engine = open_database(url)
    repository = SessionRepository(engine)
    recorder = Recorder(engine)
    try:
        recorder.register_device(OXIMETER, "nonin-df7", "/dev/ttyUSB0")
        recorder.register_device(CUFF, "suntech-advantage", "/dev/ttyUSB1")
        session_id = repository.start_session(PATIENT, "Intranasal esketamine 56 mg", room="2", nurse=NURSE)
        recorder.begin(session_id)
        items = sorted([*_oximeter_items(), *_cuff_items()], key=lambda i: i.t_us)
        for start in range(0, len(items), 500):
            recorder.write(items[start : start + 500])
        assert recorder.flush(timeout=60)
        recorder.end()
        repository.end_session(session_id)
        # the session ran on its own clock, not the wall clock
        repository.set_span(session_id, T0 - S, T0 + DURATION_S * S)
    finally:
        recorder.stop()
        engine.dispose()
    return RecordedSession(url, session_id, clinical_record(), alarm_log())

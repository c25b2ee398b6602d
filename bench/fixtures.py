"""A recorded IV-ketamine session of any length for the review window's tests and benchmark.

Written straight through the real Recorder, SessionRepository and ClinicalLog (no real-time simulation): an
oximeter with SpO2, pulse rate and perfusion index at 1 Hz and pleth at 75 Hz following the pulse (chunks of
25 samples placed by a SampleClock), a cuff with NIBP and its own pulse rate every 5 minutes (and its inflation
pressure while it measures), two holes in the oximeter data (probe
off, a cable pulled), a clinical record (weight, an infusion with a rate change, ondansetron after an emesis,
MOAA/S every 15 minutes, CADSS and patient ratings, notes, quick events) and an alarm log with desaturations,
no-data alarms and a high blood pressure.
The alarm log is returned, not stored: alarms have no table in this build, the review takes them as an argument.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sqlalchemy import Engine

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.clock import SampleClock
from kapmonitor.core.readings import Item, LinkEvent, Reading, WaveChunk
from kapmonitor.session.entries import BodyWeight, BolusDose, InfusionEvent, Note, QuickEvent, Rating
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

S = 1_000_000
MIN = 60 * S
T0 = 1_763_700_000_000_000  # a whole second: 2025-11-21T04:40:00Z
OXIMETER = "nonin-df7@/dev/ttyUSB0"
CUFF = "suntech-advantage@/dev/ttyUSB1"
PATIENT = "KAP-0077"
NURSE = "R. Ortiz"
PLETH_RATE = 75.0
CHUNK = 25
INFUSION_START_S = 15 * 60
FIRST_DOSE_S = INFUSION_START_S
DESATURATIONS_S = ((25 * 60, 25 * 60 + 90, 89.0), (50 * 60, 50 * 60 + 40, 91.0))  # (from, to, SpO2 there)
BP_RISE_S = (20 * 60, 70 * 60)  # the ketamine blood-pressure rise
BP_EVERY_S = 300
CUFF_CYCLE_S = 35  # a cuff measurement: 8 s inflating, then deflating to 0, the result at its end


@dataclass(frozen=True)
class RecordedReview:
    session_id: int
    t0_us: int
    duration_s: int
    gaps_s: tuple[tuple[int, int], ...]  # oximeter holes, seconds after t0
    alarms: tuple[AlarmEvent, ...]


def gaps_for(duration_s: int) -> tuple[tuple[int, int], ...]:
    """A 30-second probe-off a third of the way in, and a 3-minute pulled cable two thirds in."""
    a, b = duration_s // 3, 2 * duration_s // 3
    return ((a, a + 30), (b, b + 180))


def spo2_at(s: int) -> float:
    for start, end, low in DESATURATIONS_S:
        if start <= s < end:
            return low
    return 97.0 + (s // 97) % 3


def pulse_at(s: int) -> float:
    return 70.0 + 10.0 * math.sin(s / 600.0) + (8.0 if BP_RISE_S[0] <= s < BP_RISE_S[1] else 0.0)


def bp_at(s: int) -> tuple[float, float, float]:
    rise = 0.0
    if BP_RISE_S[0] <= s < BP_RISE_S[1]:  # up to +35 mmHg, peaking mid-way
        mid, half = sum(BP_RISE_S) / 2, (BP_RISE_S[1] - BP_RISE_S[0]) / 2
        rise = 35.0 * (1 - abs(s - mid) / half)
    systolic = round(124.0 + rise + (s // BP_EVERY_S) % 4)
    diastolic = round(78.0 + rise / 2)
    return systolic, diastolic, round((systolic + 2 * diastolic) / 3)


class PlethWave:
    """A pulse oximeter's pleth: one beat per pulse at the current pulse rate, a dicrotic second harmonic, the
    breathing's slow swing in amplitude, and a few counts of noise (seeded: the same session every time)."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.beat_phase = 0.0
        self.breath_phase = 0.0

    def samples(self, n: int, pulse_bpm: float) -> tuple[int, ...]:
        out = []
        for _ in range(n):
            self.beat_phase += 2 * math.pi * pulse_bpm / 60 / PLETH_RATE
            self.breath_phase += 2 * math.pi * 0.23 / PLETH_RATE
            swing = 1 + 0.12 * math.sin(self.breath_phase)
            beat = 1400 * math.sin(self.beat_phase) + 300 * math.sin(2 * self.beat_phase + 0.6)
            out.append(int(2000 + swing * beat + self.random.gauss(0, 12)))
        return tuple(out)


def _oximeter(duration_s: int, gaps: tuple[tuple[int, int], ...]) -> list[Item]:
    items: list[Item] = [LinkEvent("connected", "", T0 - S // 2, OXIMETER)]
    clock = SampleClock(PLETH_RATE)
    pleth = PlethWave()
    for s in range(duration_s):
        t = T0 + s * S
        hole = next((g for g in gaps if g[0] <= s < g[1]), None)
        if hole is not None:
            if s == hole[0]:
                items.append(LinkEvent("disconnected", "no data from the probe", t, OXIMETER))
            continue
        if any(s == g[1] for g in gaps):
            items.append(LinkEvent("connected", "", t, OXIMETER))
        for k in range(3):
            samples = pleth.samples(CHUNK, pulse_at(s))
            arrival = t + (k + 1) * S // 3
            items.append(WaveChunk("pleth", PLETH_RATE, samples, t_us=clock.place(CHUNK, arrival), device=OXIMETER))
        items.append(Reading("spo2", spo2_at(s), "%", t_us=t, device=OXIMETER))
        items.append(Reading("pulse_rate", pulse_at(s), "bpm", t_us=t, device=OXIMETER))
        items.append(
            Reading("perfusion_index", round(2.6 + 0.8 * math.sin(s / 420.0), 1), "%", t_us=t, device=OXIMETER)
        )
    return items


def _cuff(duration_s: int) -> list[Item]:
    """Each measurement as a SunTech cuff reports it: the inflation pressure once a second while it inflates
    above the systolic and deflates, then the pressures and the pulse rate it measured."""
    items: list[Item] = []
    for s in range(60, duration_s, BP_EVERY_S):
        systolic, diastolic, mean = bp_at(s)
        top = systolic + 30
        for k in range(CUFF_CYCLE_S):
            pressure = top * k / 8 if k < 8 else top * (CUFF_CYCLE_S - 1 - k) / (CUFF_CYCLE_S - 9)
            t = T0 + (s - CUFF_CYCLE_S + k) * S
            items.append(Reading("cuff_pressure", round(pressure), "mmHg", t_us=t, device=CUFF))
        t = T0 + s * S
        items += [
            Reading("nibp_systolic", systolic, "mmHg", t_us=t, device=CUFF),
            Reading("nibp_diastolic", diastolic, "mmHg", t_us=t, device=CUFF),
            Reading("nibp_mean", mean, "mmHg", t_us=t, device=CUFF),
            Reading("pulse_rate", round(pulse_at(s)) + 2, "bpm", t_us=t, device=CUFF),
        ]
    return items


def _clinical(engine: Engine, session_id: int, duration_s: int) -> None:
    log = ClinicalLog(engine, session_id, builtin_templates()["iv-infusion"])

    def at(s: int) -> dict[str, object]:
        return {"t_us": T0 + s * S, "entered_us": T0 + s * S + 20 * S, "author": NURSE}

    infusion = {"rate_unit": "mg/kg/h", "weight_kg": 72.0, "concentration_mg_per_ml": 1.0}
    entries: list[tuple[int, object]] = [
        (120, BodyWeight(**at(120), kg=72.0)),  # type: ignore[arg-type]
        (600, Rating(**at(600), scale="moaas", values=(("level", 5),), score=5)),  # type: ignore[arg-type]
        (INFUSION_START_S, InfusionEvent(**at(INFUSION_START_S), action="start", rate=0.6, **infusion)),  # type: ignore[arg-type]
        (INFUSION_START_S + 20 * 60, InfusionEvent(**at(INFUSION_START_S + 1200), action="rate", rate=0.9, **infusion)),  # type: ignore[arg-type]
        (INFUSION_START_S + 40 * 60, InfusionEvent(**at(INFUSION_START_S + 2400), action="stop", **infusion)),  # type: ignore[arg-type]
        (26 * 60, Note(**at(26 * 60), text="Desaturation to 89 %; chin lift, settled")),  # type: ignore[arg-type]
        (33 * 60, QuickEvent(**at(33 * 60), code="music-change", label="Music changed")),  # type: ignore[arg-type]
        (31 * 60, QuickEvent(**at(31 * 60), code="emesis", label="Emesis")),  # type: ignore[arg-type]
        (32 * 60, BolusDose(**at(32 * 60), mg=4.0, route="iv", drug="ondansetron")),  # type: ignore[arg-type]
        (70 * 60, Rating(**at(70 * 60), scale="cadss", values=tuple((f"item{i}", 1) for i in range(1, 24)), score=23)),  # type: ignore[arg-type]
        (71 * 60, Rating(**at(71 * 60), scale="patient-vas", values=(("dissociation", 6),), score=None)),  # type: ignore[arg-type]
        (duration_s - 300, Note(**at(duration_s - 300), text="Alert and oriented; ride home confirmed")),  # type: ignore[arg-type]
    ]
    for minute in range(30, duration_s // 60, 15):
        entries.append((minute * 60, Rating(**at(minute * 60), scale="moaas", values=(("level", 4),), score=4)))  # type: ignore[arg-type]
    for _s, entry in sorted((e for e in entries if e[0] < duration_s), key=lambda e: e[0]):
        log.add(entry)  # type: ignore[arg-type]


def _alarms(duration_s: int, gaps: tuple[tuple[int, int], ...]) -> tuple[AlarmEvent, ...]:
    found: list[AlarmEvent] = []
    for start, end, low in DESATURATIONS_S:
        if end < duration_s:
            found.append(
                AlarmEvent(
                    T0 + start * S,
                    "spo2_low",
                    "medium",
                    "active",
                    "physiological",
                    OXIMETER,
                    "spo2",
                    low,
                    90.0 if low < 90 else 92.0,
                )
            )
            found.append(AlarmEvent(T0 + end * S, "spo2_low", "medium", "cleared", "physiological", OXIMETER, "spo2"))
    for start, end in gaps:
        found.append(AlarmEvent(T0 + (start + 10) * S, "no_data", "high", "active", "technical", OXIMETER, "spo2"))
        found.append(AlarmEvent(T0 + end * S, "no_data", "high", "cleared", "technical", OXIMETER, "spo2"))
    peak = next((s for s in range(60, duration_s, BP_EVERY_S) if bp_at(s)[0] >= 155), None)
    if peak is not None:
        found.append(
            AlarmEvent(
                T0 + peak * S,
                "nibp_systolic_high",
                "medium",
                "active",
                "physiological",
                CUFF,
                "nibp_systolic",
                bp_at(peak)[0],
                155.0,
            )
        )
    return tuple(sorted(found, key=lambda a: a.t_us))


def record_review_session(engine: Engine, duration_s: int = 4 * 3600) -> RecordedReview:
    """Write one session of ``duration_s`` seconds into an upgraded database; what was written."""
    gaps = gaps_for(duration_s)
    repository = SessionRepository(engine)
    recorder = Recorder(engine)
    try:
        recorder.register_device(OXIMETER, "nonin-df7", "/dev/ttyUSB0")
        recorder.register_device(CUFF, "suntech-advantage", "/dev/ttyUSB1")
        session_id = repository.start_session(PATIENT, "iv-infusion", room="3", nurse=NURSE)
        recorder.begin(session_id)
        items = sorted([*_oximeter(duration_s, gaps), *_cuff(duration_s)], key=lambda i: i.t_us)
        # A batch at a time, each written before the next (about 6 minutes of data each), as a live session's
        # items arrive over its hours: the recorder packs its staged rows as it goes, where 4 hours handed over
        # at once would all be staged before the first pack.
        for start in range(0, len(items), 5000):
            recorder.write(items[start : start + 5000])
            if not recorder.flush(timeout=300):
                raise RuntimeError(f"the recorder did not write the session: {recorder.failure}")
        recorder.end()
        repository.end_session(session_id)
        # the session ran on its own clock, not the wall clock
        repository.set_span(session_id, T0 - S, T0 + duration_s * S)
    finally:
        recorder.stop()
    _clinical(engine, session_id, duration_s)
    return RecordedReview(session_id, T0, duration_s, gaps, _alarms(duration_s, gaps))

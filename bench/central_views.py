"""Eight chairs as the central station shows them (one with two alarms, one gone silent), for its benchmark and
its screenshots; ``frame`` moves the numbers so each frame redraws something."""

from __future__ import annotations

from kapmonitor.core.clock import US_PER_S
from kapmonitor.store.chair_board import ChairAlarm, ChairView, Value


def eight_chairs(now: int, frame: int = 0) -> list[ChairView]:
    views = []
    for n in range(1, 9):
        alarms: tuple[ChairAlarm, ...] = ()
        if n == 3:
            alarms = (
                ChairAlarm("spo2_desat|ox|spo2", "spo2_desat", "high", "active", "physiological",
                           "SpO2 84 % below 85 for 10 s", now - 12 * US_PER_S),
                ChairAlarm("pulse_high|ox|pulse_rate", "pulse_high", "medium", "acknowledged", "physiological",
                           "Pulse 121 /min above 120", now - 60 * US_PER_S, "RN Diaz"),
            )
        if n == 6:
            alarms = (ChairAlarm("chair_silent|chair 6|", "chair_silent", "high", "silent", "technical",
                                 "chair 6 silent for 42 s", now - 42 * US_PER_S),)
        wobble = (frame + n) % 3
        views.append(ChairView(
            session_id=n, bed=f"chair {n}", patient=f"KAP-00{n:02d}", protocol="iv-infusion",
            start_us=now - (600 + 420 * n) * US_PER_S, spo2=Value(96 - wobble, now), pulse=Value(70 + n + wobble, now),
            nibp=(Value(120 + n, now - 200 * US_PER_S), Value(80, now - 200 * US_PER_S), Value(93, now)),
            dose=f"given {30 + n:.1f} mg (0.{40 + n} mg/kg), infusion running", next_prompt="BP due",
            alarms=alarms, last_heard_us=now, silent_s=42.0 if n == 6 else None,
        ))
    return views

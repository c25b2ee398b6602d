"""A simulated networked monitor: once a second an MLLP-framed ORU^R01 with the simulated patient's SpO2, pulse
rate, ECG heart rate, respiration rate, temperature and EtCO2 and a second of pleth; an NIBP measurement every
five minutes, carrying its own (older) measurement time as a real monitor's aperiodic reading does.

With ``vendor_codes`` it sends the codes of ``resources/hl7_vendors/kapmonitor-sim.toml`` instead of MDC, as a
monitor with its own code table would.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from kapmonitor.devices.hl7.encode import MessageHeader, Observation, metric_observation, oru_r01, wave_observation
from kapmonitor.devices.hl7.framing import mllp_frame
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel

PROTOCOL = "hl7-pcd01"
EUI64 = "0012A1FFFE000001"
MESSAGE_INTERVAL_S = 1.0
NIBP_INTERVAL_S = 300.0
NIBP_FIRST_S = 5.0
NIBP_DURATION_S = 35.0  # the reading is sent when the cuff has deflated, this long after it started
PLETH_RATE_HZ = 75
_VENDOR = {  # metric -> (code, unit sent)
    "spo2": ("SPO2", "%"),
    "pulse_rate": ("PR", "/min"),
    "heart_rate": ("HR", "/min"),
    "nibp_systolic": ("NIBP-S", "mm[Hg]"),
    "nibp_diastolic": ("NIBP-D", "mm[Hg]"),
    "nibp_mean": ("NIBP-M", "mm[Hg]"),
    "resp_rate": ("RR", "/min"),
    "temperature": ("TEMP", "Cel"),
    "etco2": ("ETCO2", ""),  # the table says kPa
    "pleth": ("PLETH", ""),
}


class Hl7MonitorSimulator(DeviceSimulator):
    protocol = PROTOCOL

    def __init__(
        self,
        model: PatientModel,
        *,
        patient_id: str = "",
        vendor_codes: bool = False,
        start: datetime | None = None,
        name: str = "KAPSIM_MON",
    ) -> None:
        self.model = model
        self.patient_id = patient_id
        self.vendor_codes = vendor_codes
        self.start = start or datetime.now().astimezone()
        self.header = MessageHeader(
            sending_app=f"{name}^{EUI64}^EUI-64",
            facility="KAPCLINIC",
            patient_id=f"{patient_id}^^^KAPCLINIC^MR" if patient_id else "",
            location="KAP^1^1",
            equipment=f"{EUI64}^{name}^{EUI64}^EUI-64",
        )
        self.t_s = 0.0
        self._next_message_s = MESSAGE_INTERVAL_S
        self._next_nibp_s = NIBP_FIRST_S
        self._pending_nibp: float | None = None  # when the measurement started

    def advance(self, dt_s: float) -> bytes:
        self.t_s += max(0.0, dt_s)
        out = bytearray()
        while self._next_message_s <= self.t_s:
            out += mllp_frame(self.message_at(self._next_message_s).encode("utf-8"))
            self._next_message_s += MESSAGE_INTERVAL_S
        return bytes(out)

    def receive(self, data: bytes) -> bytes:
        return b""  # ACKs: a simulated monitor does not resend

    def message_at(self, t_s: float) -> str:
        """The ORU^R01 the monitor sends at ``t_s`` seconds: the second of data that ends then."""
        now = self.start + timedelta(seconds=t_s)
        v = self.model.vitals(t_s)
        observations: list[Observation] = []
        breaths = 14.0 + 2.0 * math.sin(t_s / 97.0)
        for metric, value in (
            ("spo2", None if v.spo2 is None else round(v.spo2)),
            ("pulse_rate", None if v.pulse_rate is None else round(v.pulse_rate)),
            ("heart_rate", None if v.pulse_rate is None else round(v.pulse_rate)),
            ("resp_rate", round(breaths)),
            ("temperature", round(36.7 + 0.2 * math.sin(t_s / 900.0), 1)),
            ("etco2", round(37.0 + 2.0 * math.sin(t_s / 61.0))),
        ):
            observations.append(self._numeric(metric, value, now))
        if t_s >= self._next_nibp_s and self._pending_nibp is None:
            self._pending_nibp = t_s
            self._next_nibp_s = t_s + NIBP_INTERVAL_S
        if self._pending_nibp is not None and t_s >= self._pending_nibp + NIBP_DURATION_S:
            measured = self.start + timedelta(seconds=self._pending_nibp)
            bp = self.model.vitals(self._pending_nibp)
            for metric, value in (
                ("nibp_systolic", bp.systolic),
                ("nibp_diastolic", bp.diastolic),
                ("nibp_mean", bp.mean),
            ):
                observations.append(
                    self._numeric(metric, None if value is None else round(value), measured, method="^APERIODIC")
                )
            self._pending_nibp = None
        pleth = self.model.pleth(t_s - MESSAGE_INTERVAL_S, PLETH_RATE_HZ, PLETH_RATE_HZ)
        samples = tuple(int(round(x * 255)) for x in pleth)
        observations.append(self._wave(samples, now - timedelta(seconds=MESSAGE_INTERVAL_S)))
        return oru_r01(self.header, observations, now)

    def _numeric(self, metric: str, value: float | None, when: datetime, method: str = "") -> Observation:
        if not self.vendor_codes:
            return metric_observation(metric, value, when, method=method)
        code, unit = _VENDOR[metric]
        if metric == "etco2" and value is not None:
            value = round(value / 7.50062, 2)  # this vendor sends kPa
        return Observation(f"{code}^{code}^99KAPSIM", when, value, unit, method=method, sub_id="1")

    def _wave(self, samples: tuple[int, ...], when: datetime) -> Observation:
        if not self.vendor_codes:
            return wave_observation("pleth", samples, PLETH_RATE_HZ, when)
        return Observation("PLETH^PLETH^99KAPSIM", when, None, "", "NA", "2", samples=samples, rate_hz=None)

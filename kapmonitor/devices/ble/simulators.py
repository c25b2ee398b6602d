"""Simulated Bluetooth health devices: a patient model in, one characteristic's spec payloads out.

Bluetooth delivers one characteristic value per notification, so :meth:`NotificationSimulator.advance` returns
at most one payload per call (the rest wait for the next call); :meth:`NotificationSimulator.notifications`
returns all that are due, which is what the fake Bluetooth client uses.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import deque
from datetime import datetime, timedelta

from kapmonitor.devices.ble.bpm import (
    BloodPressureMeasurement,
    MeasurementStatus,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
)
from kapmonitor.devices.ble.hrm import HeartRateMeasurement, SensorContact, encode_heart_rate_measurement
from kapmonitor.devices.ble.ieee11073 import DateTime
from kapmonitor.devices.ble.plx import (
    PlxContinuousMeasurement,
    PlxSpotCheckMeasurement,
    encode_plx_continuous,
    encode_plx_spot_check,
)
from kapmonitor.devices.ble.racp import RacpOpCode, RacpResponse, RacpResponseCode, parse_racp_request
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel, VitalsSnapshot

SENSOR_DISCONNECTED = 1 << 15  # PLX device and sensor status
ERRATIC_SIGNAL = 1 << 6
MEASUREMENT_UNAVAILABLE = 1 << 13  # PLX measurement status
FROM_STORAGE = 1 << 9
MEASUREMENT_ONGOING = 1 << 5


def _tenths(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _whole(value: float | None) -> float | None:
    return None if value is None else float(round(value))


class NotificationSimulator(DeviceSimulator):
    """A device that notifies every ``period_s`` of simulated time, starting at ``first_s``."""

    period_s: float = 1.0
    first_s: float = 1.0

    def __init__(self, model: PatientModel, *, clock_start: datetime | None = None) -> None:
        self.model = model
        self.t_s = 0.0
        self._next_s = self.first_s
        self._queue: deque[bytes] = deque()
        self.clock_start = clock_start or datetime.now().replace(microsecond=0)

    def device_time(self, t_s: float) -> DateTime:
        return DateTime.from_datetime(self.clock_start + timedelta(seconds=round(t_s)))

    def _run_until(self, dt_s: float) -> None:
        self.t_s += dt_s
        while self._next_s <= self.t_s:
            self._queue.extend(self.payloads_at(self._next_s))
            self._next_s += self.period_s

    def notifications(self, dt_s: float) -> list[bytes]:
        self._run_until(dt_s)
        out = list(self._queue)
        self._queue.clear()
        return out

    def advance(self, dt_s: float) -> bytes:
        self._run_until(dt_s)
        return self._queue.popleft() if self._queue else b""

    @property
    def connected(self) -> bool:
        return self.model.vitals(self.t_s).connected

    @abstractmethod
    def payloads_at(self, t_s: float) -> list[bytes]:
        """The payloads the device sends at simulated time ``t_s``."""


class HeartRateSimulator(NotificationSimulator):
    protocol = "ble-hrm"

    def payloads_at(self, t_s: float) -> list[bytes]:
        v = self.model.vitals(t_s)
        if v.pulse_rate is None or v.sensor_off or v.pulse_rate <= 0:
            return [encode_heart_rate_measurement(HeartRateMeasurement(0, SensorContact.NOT_DETECTED))]
        rr = round(60 * 1024 / v.pulse_rate)
        return [
            encode_heart_rate_measurement(
                HeartRateMeasurement(round(v.pulse_rate), SensorContact.DETECTED, rr_intervals=(rr,))
            )
        ]


def _plx_status(v: VitalsSnapshot) -> tuple[int, int]:
    measurement = MEASUREMENT_ONGOING | (MEASUREMENT_UNAVAILABLE if v.sensor_off else 0)
    device = (SENSOR_DISCONNECTED if v.sensor_off else 0) | (ERRATIC_SIGNAL if v.artifact else 0)
    return measurement, device


class PlxContinuousSimulator(NotificationSimulator):
    protocol = "ble-plx-cont"

    def payloads_at(self, t_s: float) -> list[bytes]:
        v = self.model.vitals(t_s)
        status, dss = _plx_status(v)
        off = v.sensor_off
        m = PlxContinuousMeasurement(
            None if off else _tenths(v.spo2),
            None if off else _whole(v.pulse_rate),
            measurement_status=status,
            device_sensor_status=dss,
            pulse_amplitude_index=None if off else _tenths(v.perfusion_index),
            pai_present=True,
        )
        return [encode_plx_continuous(m)]


class PlxSpotCheckSimulator(NotificationSimulator):
    """A spot-check oximeter that also keeps its readings and replays them on an RACP "report stored
    records"."""

    protocol = "ble-plx-spot"
    period_s = 60.0
    first_s = 5.0

    def __init__(
        self,
        model: PatientModel,
        *,
        clock_start: datetime | None = None,
        stored: tuple[PlxSpotCheckMeasurement, ...] = (),
    ) -> None:
        super().__init__(model, clock_start=clock_start)
        self.storage: list[PlxSpotCheckMeasurement] = list(stored)
        self.racp_responses: deque[bytes] = deque()

    def payloads_at(self, t_s: float) -> list[bytes]:
        v = self.model.vitals(t_s)
        status, dss = _plx_status(v)
        m = PlxSpotCheckMeasurement(
            None if v.sensor_off else _tenths(v.spo2),
            None if v.sensor_off else _whole(v.pulse_rate),
            self.device_time(t_s),
            status,
            dss,
            None if v.sensor_off else _tenths(v.perfusion_index),
            True,
        )
        self.storage.append(m)
        return [encode_plx_spot_check(m)]

    def receive(self, data: bytes) -> bytes:
        """An RACP write: queues the stored records (status bit 9) and returns the RACP response."""
        request = parse_racp_request(data)
        if request.op_code == RacpOpCode.REPORT_NUMBER_OF_RECORDS:
            return RacpResponse(number_of_records=len(self.storage)).encode()
        if request.op_code != RacpOpCode.REPORT_STORED_RECORDS:
            return RacpResponse(request.op_code, RacpResponseCode.OP_CODE_NOT_SUPPORTED).encode()
        if not self.storage:
            return RacpResponse(request.op_code, RacpResponseCode.NO_RECORDS_FOUND).encode()
        for m in self.storage:
            replayed = PlxSpotCheckMeasurement(
                m.spo2,
                m.pulse_rate,
                m.timestamp,
                (m.measurement_status or 0) | FROM_STORAGE,
                m.device_sensor_status,
                m.pulse_amplitude_index,
                m.pai_present,
            )
            self._queue.append(encode_plx_spot_check(replayed))
        return RacpResponse(request.op_code, RacpResponseCode.SUCCESS).encode()


class CuffCycle:
    """When a simulated cuff measures: every ``interval_s``, inflating then deflating for ``duration_s``."""

    interval_s = 300.0
    first_s = 10.0
    duration_s = 30.0
    peak_mmhg = 170.0

    def pressure(self, t_s: float) -> float | None:
        """The cuff pressure at ``t_s`` or ``None`` between measurements."""
        if t_s < self.first_s:
            return None
        into = (t_s - self.first_s) % self.interval_s
        if into >= self.duration_s:
            return None
        rise = self.duration_s / 3
        if into < rise:
            return round(self.peak_mmhg * into / rise)
        return round(self.peak_mmhg - (self.peak_mmhg - 20) * (into - rise) / (self.duration_s - rise))


class BloodPressureSimulator(NotificationSimulator):
    """A cuff that indicates each result (with its device time and pulse rate) when its cycle ends."""

    protocol = "ble-bpm"
    cycle = CuffCycle()

    def __init__(self, model: PatientModel, *, clock_start: datetime | None = None) -> None:
        super().__init__(model, clock_start=clock_start)
        self.first_s = self.cycle.first_s + self.cycle.duration_s
        self.period_s = self.cycle.interval_s
        self._next_s = self.first_s

    def payloads_at(self, t_s: float) -> list[bytes]:
        v = self.model.vitals(t_s)
        m = BloodPressureMeasurement(
            _whole(v.systolic),
            _whole(v.diastolic),
            _whole(v.mean),
            timestamp=self.device_time(t_s),
            pulse_rate=_whole(v.pulse_rate),
            pulse_rate_present=True,
            status=MeasurementStatus(0x01 if v.artifact else 0),
        )
        return [encode_blood_pressure_measurement(m)]


class IntermediateCuffPressureSimulator(NotificationSimulator):
    """The live cuff pressure twice a second while the cuff measures."""

    protocol = "ble-icp"
    period_s = 0.5
    first_s = 0.5
    cycle = CuffCycle()

    def payloads_at(self, t_s: float) -> list[bytes]:
        pressure = self.cycle.pressure(t_s)
        if pressure is None:
            return []
        return [encode_intermediate_cuff_pressure(BloodPressureMeasurement(float(pressure), None, None))]

"""Simulated Contec oximeters of both families, streaming a simulated patient's pleth and numerics."""

from __future__ import annotations

from abc import abstractmethod

from kapmonitor.devices.contec.legacy import encode_legacy
from kapmonitor.devices.contec.stream import PLETH_PROBE_ERROR, PLETH_RATE_HZ, ContecSample
from kapmonitor.devices.contec.v7 import encode_v7_realtime, v7_pack, v7_unpack
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel, VitalsSnapshot

STREAM_TIMEOUT_S = 10.0  # a v7 device stops streaming when the host has been silent this long


def sample_from_vitals(v: VitalsSnapshot, pleth: float) -> ContecSample:
    if v.sensor_off:
        return ContecSample(PLETH_PROBE_ERROR, None, None, None, finger_out=True)
    level = max(0, min(127, round(8 + 110 * pleth)))
    return ContecSample(
        pleth=level,
        spo2=None if v.spo2 is None else round(v.spo2),
        pulse_rate=None if v.pulse_rate is None else round(v.pulse_rate),
        perfusion_index=None if v.perfusion_index is None else round(v.perfusion_index, 2),
        searching=v.artifact,
        signal=2 if v.artifact else 6,
        bar=int(pleth * 15),
    )


class _ContecStreamSimulator(DeviceSimulator):
    """60 packets per second of simulated time, vitals sampled once per second of model time."""

    def __init__(self, model: PatientModel) -> None:
        self.model = model
        self._t = 0.0
        self._packets = 0
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def _streaming(self) -> bool:
        return True

    @abstractmethod
    def _encode(self, sample: ContecSample) -> bytes:
        """One packet in this family's framing."""

    def advance(self, dt_s: float) -> bytes:
        self._t += dt_s
        due = int(self._t * PLETH_RATE_HZ + 1e-6)  # summed float steps land just short of whole packets
        n, first = due - self._packets, self._packets
        self._packets = due
        if n <= 0 or not self._streaming():
            return b""
        t0 = first / PLETH_RATE_HZ
        pleth = self.model.pleth(t0, n, PLETH_RATE_HZ)
        out = bytearray()
        vitals: VitalsSnapshot | None = None
        for i in range(n):
            if vitals is None or (first + i) % int(PLETH_RATE_HZ) == 0:
                vitals = self.model.vitals(t0 + i / PLETH_RATE_HZ)
                self._connected = vitals.connected
            if vitals.connected:
                out += self._encode(sample_from_vitals(vitals, float(pleth[i])))
        return bytes(out)


class ContecV7Simulator(_ContecStreamSimulator):
    """A CMS50D+ 4.6+: silent until START_REALTIME, stops when no command came for STREAM_TIMEOUT_S."""

    protocol = "contec-v7"

    def __init__(self, model: PatientModel) -> None:
        super().__init__(model)
        self._started = False
        self._last_contact = 0.0
        self._commands = bytearray()

    def _streaming(self) -> bool:
        if self._started and self._t - self._last_contact > STREAM_TIMEOUT_S:
            self._started = False
        return self._started

    def _encode(self, sample: ContecSample) -> bytes:
        return encode_v7_realtime(sample)

    def receive(self, data: bytes) -> bytes:
        self._commands += data
        reply = bytearray()
        while (start := self._commands.find(0x7D)) >= 0 and len(self._commands) - start >= 9:
            frame = bytes(self._commands[start : start + 9])
            del self._commands[: start + 9]
            if any(not b & 0x80 for b in frame[1:]):
                continue  # not a well-formed command: a real device ignores it
            reply += self._command(v7_unpack(frame)[0])
        if len(self._commands) > 64:
            del self._commands[:-8]
        return bytes(reply)

    def _command(self, cmd: int) -> bytes:
        self._last_contact = self._t
        if cmd == 0xA1:
            self._started = True
        elif cmd == 0xA2:
            self._started = False
            return v7_pack(0x0C, b"")
        return b""


class ContecLegacySimulator(_ContecStreamSimulator):
    """An older CMS50D+: streams from power-on, no commands."""

    protocol = "contec-legacy"

    def _encode(self, sample: ContecSample) -> bytes:
        return encode_legacy(sample)

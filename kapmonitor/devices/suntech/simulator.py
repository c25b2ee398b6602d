"""A simulated SunTech Advantage module: answers commands, inflates, deflates, reports the patient's pressure."""

from __future__ import annotations

from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel
from kapmonitor.devices.suntech.frames import (
    GET_BP_DATA,
    GET_CUFF_PRESSURE,
    HOST_COMMAND_LENGTHS,
    HOST_START,
    MAX_FRAME,
    MEASUREMENT_COMPLETE,
    PROTOCOL,
    START_BP,
    BpResult,
    encode_cuff_pressure,
)

INFLATE_MMHG_PER_S = 25.0
DEFLATE_MMHG_PER_S = 5.0  # a step-deflation module averages about this: 25-40 s per measurement in all
VENT_BELOW_MMHG = 15.0  # below diastolic range the module dumps the remaining air and reports


class SuntechSimulator(DeviceSimulator):
    """An Advantage module: answers commands, inflates to 30 mmHg above systolic, deflates, then reports."""

    protocol = PROTOCOL

    def __init__(self, model: PatientModel) -> None:
        self.model = model
        self._t = 0.0
        self._phase = "idle"  # idle | inflating | deflating
        self._pressure = 0.0
        self._target = 0.0
        self._result = BpResult(0, 0, 0, 0)
        self._commands = bytearray()
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def advance(self, dt_s: float) -> bytes:
        self._t += dt_s
        self._connected = self.model.vitals(self._t).connected
        if self._phase == "inflating":
            self._pressure = min(self._target, self._pressure + INFLATE_MMHG_PER_S * dt_s)
            if self._pressure >= self._target:
                self._phase = "deflating"
        elif self._phase == "deflating":
            self._pressure = max(0.0, self._pressure - DEFLATE_MMHG_PER_S * dt_s)
            if self._pressure <= VENT_BELOW_MMHG:
                return self._finish()
        return b""

    def _finish(self) -> bytes:
        self._phase, self._pressure = "idle", 0.0
        v = self.model.vitals(self._t)
        if v.systolic is None or v.diastolic is None:
            self._result = BpResult(0, 0, 0, 0, error=1)
        elif v.artifact:
            self._result = BpResult(0, 0, 0, 0, error=2)
        else:
            mean = v.mean if v.mean is not None else (v.systolic + 2 * v.diastolic) / 3
            pulse = round(v.pulse_rate or 0)
            self._result = BpResult(
                round(v.systolic), round(v.diastolic), round(mean), pulse, beats=pulse // 2
            )
        return MEASUREMENT_COMPLETE

    def receive(self, data: bytes) -> bytes:
        self._commands += data
        reply = bytearray()
        while (start := self._commands.find(HOST_START)) >= 0 and len(self._commands) > start + 1:
            need = HOST_COMMAND_LENGTHS.get(self._commands[start + 1])
            if need is None:
                del self._commands[: start + 1]
                continue
            if len(self._commands) - start < need:
                break
            frame = bytes(self._commands[start : start + need])
            del self._commands[: start + need]
            if sum(frame) & 0xFF == 0:  # a module ignores a command with a bad checksum
                reply += self._command(frame)
        del self._commands[:-MAX_FRAME]
        return bytes(reply)

    def _command(self, frame: bytes) -> bytes:
        if frame == START_BP and self._phase == "idle":
            v = self.model.vitals(self._t)
            self._target = max(140.0, (v.systolic or 120.0) + 30.0)
            self._phase, self._pressure = "inflating", 0.0
        elif frame == GET_CUFF_PRESSURE:
            return encode_cuff_pressure(round(self._pressure))
        elif frame == GET_BP_DATA:
            return self._result.encode()
        return b""

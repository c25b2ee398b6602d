"""The SunTech Advantage wire format: host commands, module replies, the BP result and its error codes.

Host to module: ``':' cmd ... cs``; module to host: ``'>' LEN data ... cs`` with LEN the whole frame's length.
``cs`` makes the sum of every byte of a frame 0 modulo 256; fields are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PROTOCOL = "suntech-advantage"
HOST_START, MODULE_START = 0x3A, 0x3E  # ':' and '>'
MIN_FRAME, MAX_FRAME = 4, 64
RESULT_LEN, CUFF_LEN, STATUS_LEN = 0x18, 5, 4
COMPLETE = ord("K")


def zero_sum(frame: bytes) -> int:
    """The checksum byte that makes the whole frame sum to 0 modulo 256."""
    return -sum(frame) & 0xFF


def command(body: bytes) -> bytes:
    frame = bytes([HOST_START]) + body
    return frame + bytes([zero_sum(frame)])


def response(data: bytes) -> bytes:
    frame = bytes([MODULE_START, len(data) + 3]) + data
    return frame + bytes([zero_sum(frame)])


START_BP = command(b"\x20")
GET_CUFF_PRESSURE = command(b"\x79\x05\x00")
GET_BP_DATA = command(b"\x79\x03\x00")
PNEUMATICS_ALL_CLOSED = command(b"\x0c\x00\x01\x01")
HOST_COMMAND_LENGTHS = {0x20: 3, 0x79: 5, 0x0C: 6}

# Error codes of the BP data reply, in the nurse's words, with the flags they put on the (empty) readings.
# From the SunTech Advantage interface manual as we know it; not verified against a module (protocols.md §14).
ERRORS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("weak signal: too few pulses detected, check the cuff position", ("low_signal",)),
    2: ("erratic signal: patient movement or artifact", ("artifact", "body_movement")),
    3: ("blood pressure outside the measurable range", ("out_of_range",)),
    4: ("the measurement took too long", ("measurement_timeout",)),
    85: ("pneumatic blockage: check the hose for kinks", ("pneumatic_blockage",)),
    86: ("the measurement was aborted", ("aborted",)),
    87: ("the cuff did not hold pressure: check the cuff and hose for leaks", ("cuff_loose",)),
    88: ("safety timeout: the cuff stayed inflated too long", ("measurement_timeout",)),
    89: ("cuff overpressure", ("cuff_overpressure",)),
    90: ("NIBP module power supply out of range", ("module_fault",)),
    91: ("NIBP module auto-zero out of range", ("module_fault",)),
    97: ("NIBP pressure transducer out of range", ("module_fault",)),
    98: ("NIBP module A/D converter out of range", ("module_fault",)),
    99: ("NIBP module calibration data corrupted", ("module_fault",)),
}


def error_reason(code: int) -> tuple[str, frozenset[str]]:
    reason, flags = ERRORS.get(code, (f"NIBP module error code {code}", ("module_fault",)))
    return reason, frozenset({"invalid", *flags})


@dataclass(frozen=True)
class BpResult:
    """The 24-byte BP data reply.

    ``'>' 18 sys:u16 dia:u16 beats:u8 status:u8 tc[8] hr:u8 - map:u16 err:u8 - - cs`` ("-" = spare).
    """

    systolic: int
    diastolic: int
    mean: int
    pulse_rate: int
    beats: int = 0
    status: int = 0
    error: int = 0
    test_codes: bytes = bytes(8)

    def encode(self) -> bytes:
        data = struct.pack(
            "<HHBB8sBxHBxx",
            self.systolic,
            self.diastolic,
            self.beats,
            self.status,
            self.test_codes,
            self.pulse_rate,
            self.mean,
            self.error,
        )
        return response(data)

    @classmethod
    def decode(cls, frame: bytes) -> BpResult:
        sys_, dia, beats, status, tc, hr, mean, err = struct.unpack("<HHBB8sBxHBxx", frame[2:-1])
        return cls(sys_, dia, mean, hr, beats, status, err, tc)


def encode_cuff_pressure(mmhg: int) -> bytes:
    return response(struct.pack("<H", mmhg))


MEASUREMENT_COMPLETE = response(bytes([COMPLETE]))

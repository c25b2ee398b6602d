"""Masimo Rad-8 / Radical-7 ASCII 1 lines in, readings out (vectors from protocols.md §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices.masimo.decoder import ALARM_FLAGS, EXC_FLAGS, MAX_LINE, MasimoAsciiDecoder
from kapmonitor.devices.masimo.descriptors import MASIMO_ASCII
from kapmonitor.devices.masimo.simulator import encode_line
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

RAD8 = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"  # noqa: E501
RADICAL7 = b"12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% SPCO=01.0% SPMET=00.5% DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000820\r\n"  # noqa: E501
RADICAL5 = b"09/15/10 15:10:29 SPO2=097% BPM=064 PI=11.82% ALARM=20 EXC=800\r\n"
COLOR = b"03/17/16 19:19:36 SN=---------- SPO2=098% BPM=123 PI=00.55 SPCO=--% SPMET=--.-% SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 EXC=0000C00 EXC1=00000000\r\n"  # noqa: E501
NO_SENSOR = b"05/15/07 08:12:21 SN=0000070986 SPO2=---% BPM=--- PI=--.--% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- PVI=--- ALARM=0000 EXC=000000\r\n"  # noqa: E501
SENSOR_OFF_STALE = b"05/20/21 14:06:02 SN=0000182948 SPO2=098% BPM=101 PI=--.--% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0010 EXC=000824\r\n"  # noqa: E501


def decode(data: bytes) -> list[object]:
    return MasimoAsciiDecoder().feed(data)


def values(items: list[object]) -> dict[str, float | None]:
    return {i.metric: i.value for i in items if isinstance(i, Reading)}


def flags(items: list[object]) -> frozenset[str]:
    return next(i.flags for i in items if isinstance(i, Reading))


def test_rad8_capture_gives_spo2_pulse_pi_and_device_time() -> None:
    items = decode(RAD8)
    assert values(items) == {"spo2": 98, "pulse_rate": 97, "perfusion_index": 3.6}
    assert flags(items) == {"masimo_set"}
    assert all(i.t_device == datetime(2016, 2, 22, 22, 47, 45) for i in items)
    assert {i.unit for i in items} == {"%", "bpm"}


def test_radical7_sensor_off_exception_hides_the_printed_numbers() -> None:
    items = decode(RADICAL7)
    assert values(items) == {"spo2": None, "pulse_rate": None, "perfusion_index": None}
    assert flags(items) == {"sensor_off", "masimo_set"}


def test_short_form_with_short_hex_fields() -> None:
    items = decode(RADICAL5)
    assert values(items) == {"spo2": 97, "pulse_rate": 64, "perfusion_index": 11.82}
    assert flags(items) == {"alarm_silenced", "masimo_set"}


def test_color_firmware_line_pi_without_percent_and_seven_digit_exc() -> None:
    items = decode(COLOR)
    assert values(items) == {"spo2": 98, "pulse_rate": 123, "perfusion_index": 0.55}
    assert flags(items) == {"masimo_set", "low_signal"}


def test_all_dashes_are_none() -> None:
    items = decode(NO_SENSOR)
    assert values(items) == {"spo2": None, "pulse_rate": None, "perfusion_index": None}
    assert not any(isinstance(i, DecodeError) for i in items)


def test_stale_values_after_sensor_off_are_not_shown() -> None:
    items = decode(SENSOR_OFF_STALE)
    assert values(items) == {"spo2": None, "pulse_rate": None, "perfusion_index": None}
    assert flags(items) == {"alarm_active", "sensor_off", "low_perfusion", "masimo_set"}


def test_alarm_is_hex_not_decimal() -> None:
    items = decode(RADICAL5.replace(b"ALARM=20", b"ALARM=0038"))
    assert {"pulse_rate_low_alarm", "alarm_active", "alarm_silenced"} <= flags(items)


def test_keys_not_positions() -> None:
    items = decode(b"02/22/16 22:47:45 EXC=000800 BPM=097 ALARM=0000 PI=03.60% SPO2=098%\r\n")
    assert values(items) == {"spo2": 98, "pulse_rate": 97, "perfusion_index": 3.6}


def test_partial_first_line_and_nul_bytes_are_dropped_quietly() -> None:
    dec = MasimoAsciiDecoder()
    items = dec.feed(b"\0\0\0" + RAD8[30:] + b"\0" + RAD8)
    assert values(items) == {"spo2": 98, "pulse_rate": 97, "perfusion_index": 3.6}
    assert not any(isinstance(i, DecodeError) for i in items)
    assert dec.stats.frames_ok == 1


def test_a_later_line_without_a_date_is_an_error_with_its_offset() -> None:
    dec = MasimoAsciiDecoder()
    items = dec.feed(RAD8 + b"garbage here\r\n" + RAD8)
    errors = [i for i in items if isinstance(i, DecodeError)]
    assert [(e.reason, e.offset) for e in errors] == [("no date", len(RAD8))]
    assert dec.stats.frames_ok == 2 and dec.stats.resyncs == 1


def test_malformed_number_is_an_error_and_none() -> None:
    items = decode(RAD8.replace(b"BPM=097", b"BPM=9x7"))
    assert values(items)["pulse_rate"] is None
    assert any(isinstance(i, DecodeError) and i.reason == "malformed field" for i in items)


def test_endless_line_is_dropped_and_the_buffer_stays_bounded() -> None:
    dec = MasimoAsciiDecoder()
    items = dec.feed(b"x" * 5000)
    assert [i.reason for i in items if isinstance(i, DecodeError)] == ["line too long"]
    assert values(dec.feed(RAD8)) == {"spo2": 98, "pulse_rate": 97, "perfusion_index": 3.6}


def test_every_documented_bit_has_a_flag() -> None:
    assert set(ALARM_FLAGS) == {1 << b for b in range(14)} - {0x80}
    assert set(EXC_FLAGS) == {1 << b for b in range(23)} - {0x200}


def test_descriptor_is_registered_with_its_serial_settings() -> None:
    assert descriptor("masimo-ascii") is MASIMO_ASCII
    assert MASIMO_ASCII.serial is not None and MASIMO_ASCII.serial.baudrate == 9600


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise_and_the_buffer_is_bounded(data: bytes) -> None:
    dec = MasimoAsciiDecoder()
    dec.feed(data)
    assert len(dec._buf) <= MAX_LINE
    assert dec.stats.bytes_in == len(data)


maybe = st.one_of(st.none(), st.integers(0, 100))
harmless_exc = st.sets(st.sampled_from([0x004, 0x010, 0x040, 0x400, 0x800, 0x1000, 0x20000])).map(sum)


@settings(max_examples=100, deadline=None)
@given(
    spo2=maybe,
    pulse=st.one_of(st.none(), st.integers(0, 300)),
    pi=st.one_of(st.none(), st.integers(0, 9999).map(lambda n: n / 100)),
    alarm=st.integers(0, 0xFFFF),
    exc=harmless_exc,
    when=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)).map(lambda d: d.replace(microsecond=0)),
)
def test_encode_then_decode_round_trips(
    spo2: int | None, pulse: int | None, pi: float | None, alarm: int, exc: int, when: datetime
) -> None:
    items = decode(encode_line(when, spo2, pulse, pi, alarm=alarm, exc=exc))
    assert values(items) == {"spo2": spo2, "pulse_rate": pulse, "perfusion_index": pi}
    expected = {f for bit, names in {**ALARM_FLAGS}.items() if alarm & bit for f in names}
    expected |= {f for bit, names in EXC_FLAGS.items() if exc & bit for f in names}
    assert all(i.flags == expected and i.t_device == when for i in items)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([RAD8, RADICAL5, COLOR, NO_SENSOR, b"junk\r\n", b"\0"]), max_size=8))
def test_byte_by_byte_feeding_equals_whole_feeding(lines: list[bytes]) -> None:
    data = b"".join(lines)
    whole = MasimoAsciiDecoder().feed(data)
    dec = MasimoAsciiDecoder()
    single = [item for b in data for item in dec.feed(bytes([b]))]
    assert single == whole


@dataclass
class SteadyPatient:
    """A constant patient whose probe falls off between 10 s and 15 s."""

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(97.0, 72.0, 2.5, 120.0, 80.0, 93.0, sensor_off=10 <= t_s < 15)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return 0.5 + 0.5 * np.sin(2 * np.pi * 1.2 * (t0_s + np.arange(n) / rate_hz))


def test_simulator_sends_a_line_a_second_and_sensor_off_decodes_to_none() -> None:
    sim = MASIMO_ASCII.simulator(SteadyPatient())
    dec = MASIMO_ASCII.decoder()
    readings = [i for _ in range(40) for i in dec.feed(sim.advance(0.5)) if isinstance(i, Reading)]
    spo2 = [r for r in readings if r.metric == "spo2"]
    assert len(spo2) == 20
    assert [r.value for r in spo2[:9]] == [97] * 9
    off = [r for r in spo2 if "sensor_off" in r.flags]
    assert len(off) == 5 and all(r.value is None for r in off)
    assert (spo2[1].t_device - spo2[0].t_device).total_seconds() == 1

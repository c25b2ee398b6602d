"""Nonin data format #13: SmartPoint spot-check records with the device's clock. Vector: protocols.md 6.4."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices.nonin.descriptors import DF13, NoninDf13Decoder, NoninDf13Simulator, encode_df13_record
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

H = bytes.fromhex
SPEC_RECORD = H("00 02 00 0D 00 0E 20 24 06 15 14 30 00 00 02 00 00 48 00 61 4E 03")
SPEC_TIME = datetime(2024, 6, 15, 14, 30, 0)


def decode(data: bytes) -> list:
    decoder = NoninDf13Decoder()
    return decoder.feed(data) + decoder.finish()


def test_the_spec_record_is_a_smartpoint_check_at_its_device_time() -> None:
    assert decode(SPEC_RECORD) == [
        Reading("spo2", 97.0, "%", frozenset({"smartpoint"}), SPEC_TIME),
        Reading("pulse_rate", 72.0, "bpm", frozenset({"smartpoint"}), SPEC_TIME),
    ]


def test_the_encoder_reproduces_the_spec_record() -> None:
    assert encode_df13_record(SPEC_TIME, 97, 72, frozenset({"smartpoint"})) == SPEC_RECORD


def test_no_measurement_gives_no_values() -> None:
    items = decode(encode_df13_record(SPEC_TIME, 97, 72, no_measurement=True))
    assert [r.value for r in items] == [None, None]


def test_a_record_from_memory_is_flagged_stored() -> None:
    items = decode(encode_df13_record(SPEC_TIME, 97, 72, frozenset({"stored", "low_battery"})))
    assert items[0].flags == {"stored", "low_battery"}


def test_missing_values_511_and_127_are_none() -> None:
    assert [r.value for r in decode(encode_df13_record(SPEC_TIME, None, None))] == [None, None]


def test_a_longer_record_is_read_by_its_length_field() -> None:
    record = encode_df13_record(SPEC_TIME, 97, 72, extension=H("AA BB CC"))
    assert record[4:6] == H("00 11")
    assert [r.value for r in decode(record + SPEC_RECORD)] == [97.0, 72.0, 97.0, 72.0]


def test_a_bad_checksum_is_one_error_and_the_next_record_decodes() -> None:
    bad = bytearray(SPEC_RECORD)
    bad[-2] ^= 0x01
    decoder = NoninDf13Decoder()
    items = decoder.feed(bytes(bad) + SPEC_RECORD)
    assert items[0] == DecodeError("checksum", 0, "22 bytes skipped")
    assert [r.value for r in items[1:]] == [97.0, 72.0]
    assert decoder.stats.checksum_errors == 1 and decoder.stats.resyncs == 1


def test_a_date_that_is_not_bcd_is_reported_and_the_values_kept() -> None:
    record = bytearray(SPEC_RECORD)
    record[8] = 0x1A  # month "1A"
    record[-2] = (record[-2] + 0x1A - 0x06) & 0xFF
    items = decode(bytes(record))
    assert isinstance(items[0], DecodeError) and items[0].reason == "device_time" and items[0].offset == 0
    assert [(r.value, r.t_device) for r in items[1:]] == [(97.0, None), (72.0, None)]


def test_garbage_and_a_cut_record_are_reported() -> None:
    items = decode(H("FF 00 02") + SPEC_RECORD + SPEC_RECORD[:9])
    assert items[0] == DecodeError("resync", 0, "3 bytes skipped")
    assert items[-1] == DecodeError("truncated", 25, "9 bytes skipped")


def test_byte_by_byte_gives_the_same_items_as_all_at_once() -> None:
    stream = H("00 02 00") + SPEC_RECORD * 2 + H("00 02 00 0D 00")
    one_by_one = NoninDf13Decoder()
    assert [i for b in stream for i in one_by_one.feed(bytes([b]))] == NoninDf13Decoder().feed(stream)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_arbitrary_bytes_never_raise_and_the_buffer_stays_bounded(chunks: list[bytes]) -> None:
    decoder = NoninDf13Decoder()
    for chunk in chunks:
        decoder.feed(chunk)
        assert decoder.buffered <= decoder.max_buffer
    decoder.finish()


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=200))
def test_a_record_after_garbage_is_recovered(garbage: bytes) -> None:
    readings = [i for i in decode(garbage + SPEC_RECORD * 2) if isinstance(i, Reading)]
    assert readings[-2:] == decode(SPEC_RECORD)


@settings(max_examples=100, deadline=None)
@given(
    when=st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31)),
    spo2=st.none() | st.integers(0, 100),
    pulse=st.none() | st.integers(0, 300),
    flags=st.frozensets(st.sampled_from(["smartpoint", "stored", "low_battery"])),
)
def test_encode_then_decode_round_trips(
    when: datetime, spo2: int | None, pulse: int | None, flags: frozenset[str]
) -> None:
    when = when.replace(microsecond=when.microsecond // 10_000 * 10_000)  # the device keeps 1/100 s
    got = decode(encode_df13_record(when, spo2, pulse, flags))
    assert got == [Reading("spo2", spo2, "%", flags, when), Reading("pulse_rate", pulse, "bpm", flags, when)]


class SteadyPatient:
    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(98.0, 64.0, 2.0, None, None, None)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> list[float]:
        return [0.5] * n


def test_the_simulator_sends_a_spot_check_every_interval_with_its_clock() -> None:
    simulator = NoninDf13Simulator(SteadyPatient(), interval_s=10.0, clock_start=SPEC_TIME)
    items = decode(b"".join(simulator.advance(1.0) for _ in range(25)))
    assert [(r.value, r.t_device) for r in items if r.metric == "spo2"] == [
        (98.0, datetime(2024, 6, 15, 14, 30, 10)),
        (98.0, datetime(2024, 6, 15, 14, 30, 20)),
    ]
    assert all(r.flags == {"smartpoint"} for r in items)


def test_the_descriptor_is_registered_as_nonin_df13() -> None:
    assert descriptor("nonin-df13") is DF13
    assert isinstance(DF13.simulator(SteadyPatient()), NoninDf13Simulator)

"""Nonin data format #8: 4 bytes a second, framed by bit 7 only. Vectors: protocols.md 6.3."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices.nonin.descriptors import DF8, NoninDf8Decoder, NoninDf8Simulator, encode_df8_frame
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

H = bytes.fromhex
SPEC_FRAMES = H("80 48 61 00") + H("81 48 5F 20") + H("83 7F 7F 08") + H("A4 41 5D 01")


def decode(data: bytes) -> list:
    decoder = NoninDf8Decoder()
    return decoder.feed(data) + decoder.finish()


def pairs(items: list) -> list[tuple[float | None, float | None, frozenset[str]]]:
    """(SpO2, pulse rate, flags) per frame."""
    got = [i for i in items if isinstance(i, Reading)]
    assert [r.metric for r in got] == ["spo2", "pulse_rate"] * (len(got) // 2)
    return [(s.value, p.value, s.flags) for s, p in zip(got[::2], got[1::2], strict=True)]


def test_the_four_spec_frames() -> None:
    assert pairs(decode(SPEC_FRAMES)) == [
        (97.0, 72.0, frozenset()),
        (95.0, 200.0, {"smartpoint"}),  # HR7 set: 128 + 72
        (None, None, {"sensor_off"}),  # 511 / 127 missing, sensor alarm
        (93.0, 65.0, {"out_of_track", "artifact", "low_battery"}),
    ]


def test_units_are_percent_and_bpm() -> None:
    spo2, pulse = decode(H("80 48 61 00"))
    assert (spo2.unit, pulse.unit) == ("%", "bpm")


def test_the_encoder_reproduces_the_spec_frames() -> None:
    assert encode_df8_frame(97, 72) == H("80 48 61 00")
    assert encode_df8_frame(95, 200, frozenset({"smartpoint"})) == H("81 48 5F 20")
    assert encode_df8_frame(None, None, frozenset({"sensor_off"})) == H("83 7F 7F 08")
    assert encode_df8_frame(93, 65, frozenset({"out_of_track", "artifact", "low_battery"})) == H(
        "A4 41 5D 01"
    )


def test_bytes_that_break_the_bit7_pattern_are_one_resync_error() -> None:
    decoder = NoninDf8Decoder()
    items = decoder.feed(H("12 80 FF 00") + SPEC_FRAMES)
    assert items[0] == DecodeError("resync", 0, "4 bytes skipped")
    assert len(pairs(items)) == 4
    assert decoder.stats.frames_ok == 4 and decoder.stats.bytes_discarded == 4


def test_an_incomplete_frame_at_the_end_is_reported_as_truncated() -> None:
    assert decode(H("80 48 61 00 80 48"))[-1] == DecodeError("truncated", 4, "2 bytes skipped")


def test_byte_by_byte_gives_the_same_items_as_all_at_once() -> None:
    stream = H("FF 00") + SPEC_FRAMES * 2
    one_by_one = NoninDf8Decoder()
    assert [i for b in stream for i in one_by_one.feed(bytes([b]))] == NoninDf8Decoder().feed(stream)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_arbitrary_bytes_never_raise_and_the_buffer_stays_bounded(chunks: list[bytes]) -> None:
    decoder = NoninDf8Decoder()
    for chunk in chunks:
        decoder.feed(chunk)
        assert decoder.buffered <= decoder.max_buffer
    decoder.finish()


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=100))
def test_frames_after_garbage_are_recovered(garbage: bytes) -> None:
    got = pairs(decode(garbage + SPEC_FRAMES))
    assert got[-4:] == pairs(decode(SPEC_FRAMES))


@settings(max_examples=150, deadline=None)
@given(
    spo2=st.none() | st.integers(0, 100),
    pulse=st.none() | st.integers(0, 300),
    flags=st.builds(
        frozenset.union,
        st.sampled_from([frozenset(), frozenset({"low_perfusion"}), frozenset({"marginal_perfusion"})]),
        st.frozensets(
            st.sampled_from(["sensor_off", "artifact", "out_of_track", "low_battery", "smartpoint"])
        ),
    ),
)
def test_encode_then_decode_round_trips(spo2: int | None, pulse: int | None, flags: frozenset[str]) -> None:
    off = "sensor_off" in flags
    assert pairs(decode(encode_df8_frame(spo2, pulse, flags))) == [
        (None if off else spo2, None if off else pulse, flags)
    ]


class SteadyPatient:
    def __init__(self, sensor_off: bool = False) -> None:
        self.sensor_off = sensor_off

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(97.0, 72.0, 2.0, None, None, None, sensor_off=self.sensor_off)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> list[float]:
        return [0.5] * n


def test_the_simulator_sends_one_frame_a_second() -> None:
    simulator = DF8.simulator(SteadyPatient())
    assert isinstance(simulator, NoninDf8Simulator)
    sent = b"".join(simulator.advance(0.1) for _ in range(50))
    assert len(sent) == 5 * 4
    assert pairs(decode(sent)) == [(97.0, 72.0, frozenset())] * 5


def test_a_simulated_sensor_off_is_snsa_with_missing_values() -> None:
    assert pairs(decode(NoninDf8Simulator(SteadyPatient(sensor_off=True)).advance(1.0))) == [
        (None, None, {"sensor_off"})
    ]


def test_the_descriptor_is_registered_as_nonin_df8() -> None:
    assert descriptor("nonin-df8") is DF8
    assert [t.metric for t in DF8.tracks] == ["spo2", "pulse_rate"]

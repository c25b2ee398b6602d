"""Nonin data format #2: 8-bit pleth frames with a 01 start byte. Vectors: Pufferfish (protocols.md 6.1)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading, WaveChunk
from kapmonitor.devices.nonin.descriptors import (
    DF2,
    NoninDf2Decoder,
    NoninDf2Simulator,
    encode_df2_frame,
    encode_df2_packet,
)
from kapmonitor.devices.nonin.packet import heart_rate, status_flags
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

H = bytes.fromhex
FILLER = H("01 80 01 00 82")  # status 80, pleth 1, FLOAT 0
PUFFERFISH_PACKET = (
    H("01 81 01 00 83")  # frame 1 (SYNC), HR MSB 0
    + H("01 80 01 48 CA")  # HR LSB 72 -> HR 72
    + H("01 80 01 61 E3")  # SpO2 97
    + H("01 80 01 30 B2")  # firmware revision 48
    + FILLER * 21
)


def decode(data: bytes) -> list:
    decoder = NoninDf2Decoder()
    return decoder.feed(data) + decoder.finish()


def of(items: list, kind: type) -> list:
    return [i for i in items if isinstance(i, kind)]


def test_the_pufferfish_packet_gives_hr_72_spo2_97_and_its_pleth() -> None:
    items = decode(PUFFERFISH_PACKET)
    assert [type(i) for i in items] == [WaveChunk, Reading, Reading]
    assert items[0].samples == (1,) * 25
    assert items[1] == Reading("spo2", 97.0, "%")
    assert items[2] == Reading("pulse_rate", 72.0, "bpm")


def test_every_pufferfish_frame_checks_out() -> None:
    for frame in ("01 81 01 00 83", "01 80 01 48 CA", "01 80 01 61 E3", "01 80 01 30 B2", "01 82 01 00 84",
                  "01 86 01 00 88", "01 84 01 00 86", "01 88 01 00 8A", "01 90 01 00 92", "01 A0 01 00 A2",
                  "01 C0 01 00 C2", "01 80 01 01 83", "01 80 01 02 84"):  # fmt: skip
        assert NoninDf2Decoder.check_frame(H(frame)) is None, frame
    assert NoninDf2Decoder.check_frame(H("01 80 01 48 CB")) == "checksum"


def test_pufferfish_status_bytes_give_their_flags() -> None:
    flags_of = {
        "01 82 01 00 84": set(),  # green perfusion
        "01 86 01 00 88": {"marginal_perfusion"},  # yellow
        "01 84 01 00 86": {"low_perfusion"},  # red
        "01 88 01 00 8A": {"sensor_off"},  # SNSA
        "01 90 01 00 92": {"out_of_track"},
        "01 A0 01 00 A2": {"artifact"},
        "01 C0 01 00 C2": {"sensor_off"},  # SNSD on the OEM III
    }
    for frame, flags in flags_of.items():
        assert status_flags(NoninDf2Decoder.unpack_frame(H(frame))[0]) == flags, frame


def test_hr_msb_1_lsb_2_is_130() -> None:
    assert heart_rate(0x01, 0x02) == 130
    packet = H("01 81 01 01 84") + H("01 80 01 02 84") + H("01 80 01 61 E3") + FILLER * 22
    assert [r.value for r in of(decode(packet), Reading)] == [97.0, 130.0]


def test_a_bad_checksum_frame_is_dropped_and_reported_once() -> None:
    stream = PUFFERFISH_PACKET[:10] + H("01 80 01 48 CB") + PUFFERFISH_PACKET[15:] + PUFFERFISH_PACKET
    decoder = NoninDf2Decoder()
    items = decoder.feed(stream) + decoder.finish()
    assert of(items, DecodeError) == [DecodeError("checksum", 10, "5 bytes skipped")]
    assert decoder.stats.checksum_errors == 1
    assert sum(len(c.samples) for c in of(items, WaveChunk)) == 49
    assert [r.value for r in of(items, Reading)] == [97.0, 72.0]  # only the intact packet gives values


def test_three_garbage_bytes_before_a_frame_are_discarded() -> None:
    decoder = NoninDf2Decoder()
    items = decoder.feed(H("81 01 00") + H("01 81 01 00 83") + H("01 80 01 48 CA"))
    assert items == [DecodeError("resync", 0, "3 bytes skipped")]
    assert decoder.stats.bytes_discarded == 3
    assert decoder.stats.frames_ok == 2


def test_the_encoder_reproduces_the_pufferfish_frames() -> None:
    assert encode_df2_frame(0x81, 1, 0x00) == H("01 81 01 00 83")
    assert encode_df2_frame(0x80, 1, 0x48) == H("01 80 01 48 CA")
    assert encode_df2_packet([1] * 25, spo2=97, pulse_rate=72)[:15] == H(
        "01 83 01 00 85 01 82 01 48 CC 01 82 01 61 E5"
    )


def test_byte_by_byte_gives_the_same_items_as_all_at_once() -> None:
    stream = H("81 01 00") + PUFFERFISH_PACKET * 3 + H("01 80")
    one_by_one = NoninDf2Decoder()
    items = [item for b in stream for item in one_by_one.feed(bytes([b]))]
    assert items == NoninDf2Decoder().feed(stream)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_arbitrary_bytes_never_raise_and_the_buffer_stays_bounded(chunks: list[bytes]) -> None:
    decoder = NoninDf2Decoder()
    for chunk in chunks:
        decoder.feed(chunk)
        assert decoder.buffered <= decoder.max_buffer
    decoder.finish()


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=200), cuts=st.lists(st.integers(0, 1000), max_size=10))
def test_valid_packets_after_garbage_are_recovered(garbage: bytes, cuts: list[int]) -> None:
    stream = garbage + PUFFERFISH_PACKET * 4
    decoder = NoninDf2Decoder()
    items = []
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    for a, b in zip(bounds, bounds[1:], strict=False):
        items += decoder.feed(stream[a:b])
    assert of(items, WaveChunk)[-1].samples == (1,) * 25
    assert Reading("spo2", 97.0, "%") in items


@settings(max_examples=100, deadline=None)
@given(
    spo2=st.none() | st.integers(0, 100),
    pulse=st.none() | st.integers(0, 300),
    pleth=st.lists(st.integers(0, 255), min_size=25, max_size=25),
    flags=st.frozensets(
        st.sampled_from(["artifact", "out_of_track", "low_perfusion", "low_battery", "smartpoint"])
    ),
)
def test_encode_then_decode_round_trips(
    spo2: int | None, pulse: int | None, pleth: list[int], flags: frozenset[str]
) -> None:
    items = decode(encode_df2_packet(pleth, spo2=spo2, pulse_rate=pulse, flags=flags))
    assert of(items, WaveChunk)[0].samples == tuple(pleth)
    assert [(r.value, r.flags) for r in of(items, Reading)] == [(spo2, flags), (pulse, flags)]


class SteadyPatient:
    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(
            spo2=95.4, pulse_rate=61.6, perfusion_index=0.4, systolic=None, diastolic=None, mean=None
        )

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return np.linspace(0.0, 1.0, n)


def test_the_simulator_streams_8_bit_pleth_and_rounded_values() -> None:
    simulator = DF2.simulator(SteadyPatient())
    assert isinstance(simulator, NoninDf2Simulator)
    sent = b"".join(simulator.advance(1 / 30) for _ in range(30))
    items = decode(sent)
    assert len(sent) == 75 * 5 and not of(items, DecodeError)
    assert max(s for c in of(items, WaveChunk) for s in c.samples) == 255
    reading = of(items, Reading)[0]
    assert (reading.value, reading.flags) == (95.0, {"marginal_perfusion"})  # PI 0.4 % shows yellow


def test_the_descriptor_is_registered_as_nonin_df2() -> None:
    assert descriptor("nonin-df2") is DF2
    assert DF2.link == "serial" and DF2.start_command == H("02 70 02 02 02 03")

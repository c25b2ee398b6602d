"""Nonin data format #7: 16-bit pleth frames, packets, readings, resync, simulator (protocols.md 6.2)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading, WaveChunk
from kapmonitor.devices.nonin.descriptors import (
    DF7,
    NoninDf7Decoder,
    NoninDf7Simulator,
    encode_df7_frame,
    encode_df7_packet,
)
from kapmonitor.devices.nonin.simulator import select_format_command
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

H = bytes.fromhex
SYNC_FRAME = H("81 12 34 00 C7")  # SYNC, pleth 0x1234
GREEN_FRAME = H("82 FF FF 48 C8")  # green perfusion, pleth 65535, FLOAT 72
ARTF_SNSA_FRAME = H("A8 00 00 7F 27")  # artifact + sensor alarm
RAMP = list(range(1000, 1025))


def decode(data: bytes) -> list:
    decoder = NoninDf7Decoder()
    return decoder.feed(data) + decoder.finish()


def of(items: list, kind: type) -> list:
    return [i for i in items if isinstance(i, kind)]


def readings(items: list) -> dict[str, Reading]:
    return {r.metric: r for r in of(items, Reading)}


def test_the_three_spec_frames_give_their_pleth_and_flags() -> None:
    items = decode(SYNC_FRAME + GREEN_FRAME + ARTF_SNSA_FRAME)
    (chunk,) = of(items, WaveChunk)
    assert chunk.samples == (4660, 65535, 0)
    assert chunk.rate_hz == 75.0
    assert chunk.flags == {"artifact", "sensor_off"}
    assert NoninDf7Decoder.unpack_frame(GREEN_FRAME) == (0x82, 65535, 72)


def test_the_encoder_reproduces_the_spec_frames() -> None:
    assert encode_df7_frame(0x81, 0x1234, 0x00) == SYNC_FRAME
    assert encode_df7_frame(0x82, 0xFFFF, 0x48) == GREEN_FRAME
    assert encode_df7_frame(0xA8, 0x0000, 0x7F) == ARTF_SNSA_FRAME


def test_one_packet_gives_one_pleth_chunk_and_the_first_readings() -> None:
    items = decode(encode_df7_packet(RAMP, spo2=97, pulse_rate=72))
    assert [type(i) for i in items] == [WaveChunk, Reading, Reading]
    assert items[0].samples == tuple(RAMP)
    assert readings(items)["spo2"] == Reading("spo2", 97.0, "%")
    assert readings(items)["pulse_rate"] == Reading("pulse_rate", 72.0, "bpm")


def test_readings_come_once_a_second_every_third_packet() -> None:
    stream = b"".join(encode_df7_packet(RAMP, spo2=90 + i, pulse_rate=60 + i, timer=i) for i in range(7))
    items = decode(stream)
    assert len(of(items, WaveChunk)) == 7
    assert [r.value for r in of(items, Reading) if r.metric == "spo2"] == [90.0, 93.0, 96.0]


def test_heart_rate_is_nine_bits_not_msb_times_256() -> None:
    assert readings(decode(encode_df7_packet(RAMP, spo2=95, pulse_rate=130)))["pulse_rate"].value == 130.0
    assert readings(decode(encode_df7_packet(RAMP, spo2=95, pulse_rate=300)))["pulse_rate"].value == 300.0


def test_missing_values_511_and_127_are_none() -> None:
    got = readings(decode(encode_df7_packet(RAMP, spo2=None, pulse_rate=None)))
    assert got["spo2"].value is None and got["pulse_rate"].value is None


def test_sensor_off_gives_no_numbers_even_if_the_float_bytes_have_some() -> None:
    got = readings(decode(encode_df7_packet(RAMP, spo2=97, pulse_rate=72, flags=frozenset({"sensor_off"}))))
    assert got["spo2"].value is None
    assert got["spo2"].flags == {"sensor_off"}


def test_status_and_stat2_bits_become_flags() -> None:
    flags = frozenset({"artifact", "out_of_track", "low_perfusion", "low_battery", "smartpoint"})
    assert (
        readings(decode(encode_df7_packet(RAMP, spo2=97, pulse_rate=72, flags=flags)))["spo2"].flags == flags
    )
    yellow = frozenset({"marginal_perfusion"})
    assert (
        readings(decode(encode_df7_packet(RAMP, spo2=97, pulse_rate=72, flags=yellow)))["spo2"].flags
        == yellow
    )


def test_a_checksum_error_is_one_error_item_and_the_stream_recovers() -> None:
    stream = bytearray(b"".join(encode_df7_packet(RAMP, spo2=97, pulse_rate=72) for _ in range(4)))
    stream[30 * 5 + 4] ^= 0xFF  # frame 31 (in packet 2) gets a wrong checksum
    decoder = NoninDf7Decoder()
    items = decoder.feed(bytes(stream)) + decoder.finish()
    assert of(items, DecodeError) == [DecodeError("checksum", 150, "5 bytes skipped")]
    assert decoder.stats.checksum_errors == 1
    assert decoder.stats.resyncs == 1
    assert decoder.stats.bytes_discarded == 5
    assert sum(len(c.samples) for c in of(items, WaveChunk)) == 99  # every good frame's sample is kept
    assert of(items, WaveChunk)[-1].samples == tuple(RAMP)


def test_garbage_before_the_stream_is_one_resync_error() -> None:
    decoder = NoninDf7Decoder()
    items = decoder.feed(H("00 13 7F 42") + encode_df7_packet(RAMP, spo2=97, pulse_rate=72))
    assert items[0] == DecodeError("resync", 0, "4 bytes skipped")
    assert items[1].samples == tuple(RAMP)
    assert decoder.stats.resyncs == 1 and decoder.stats.bytes_discarded == 4


def test_a_sync_frame_before_25_frames_discards_the_partial_packet_values() -> None:
    partial = encode_df7_packet(RAMP, spo2=50, pulse_rate=50)[: 10 * 5]
    decoder = NoninDf7Decoder()
    items = decoder.feed(partial + encode_df7_packet(RAMP, spo2=97, pulse_rate=72))
    assert DecodeError("partial_packet", 0, "10 of 25 frames before SYNC") in items
    assert decoder.partial_packets == 1
    assert [r.value for r in of(items, Reading) if r.metric == "spo2"] == [97.0]
    assert [len(c.samples) for c in of(items, WaveChunk)] == [10, 25]


def test_frames_before_the_first_sync_carry_pleth_but_no_values() -> None:
    packet = encode_df7_packet(RAMP, spo2=97, pulse_rate=72)
    items = decode(packet[15 * 5 :] + packet)
    assert [len(c.samples) for c in of(items, WaveChunk)] == [10, 25]
    assert not of(items, DecodeError)
    assert len(of(items, Reading)) == 2


def test_byte_by_byte_gives_the_same_items_as_all_at_once() -> None:
    stream = H("00 FF 81") + b"".join(encode_df7_packet(RAMP, spo2=97, pulse_rate=72) for _ in range(3))
    one_by_one = NoninDf7Decoder()
    items = [item for b in stream for item in one_by_one.feed(bytes([b]))]
    assert items == NoninDf7Decoder().feed(stream)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_arbitrary_bytes_never_raise_and_the_buffer_stays_bounded(chunks: list[bytes]) -> None:
    decoder = NoninDf7Decoder()
    for chunk in chunks:
        items = decoder.feed(chunk)
        assert not any(isinstance(i, DecodeError) and i.reason == "internal" for i in items)
        assert decoder.buffered <= decoder.max_buffer
    decoder.finish()
    assert decoder.stats.bytes_in == sum(map(len, chunks))


@settings(max_examples=100, deadline=None)
@given(garbage=st.binary(max_size=200), cuts=st.lists(st.integers(0, 2000), max_size=12))
def test_valid_packets_after_garbage_are_recovered_however_the_stream_is_split(
    garbage: bytes, cuts: list[int]
) -> None:
    last = list(range(40000, 40025))
    stream = garbage + b"".join(encode_df7_packet(RAMP, spo2=97, pulse_rate=72) for _ in range(5))
    stream += encode_df7_packet(last, spo2=97, pulse_rate=72)
    decoder = NoninDf7Decoder()
    items = []
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    for a, b in zip(bounds, bounds[1:], strict=False):
        items += decoder.feed(stream[a:b])
    items += decoder.finish()
    assert of(items, WaveChunk)[-1].samples == tuple(last)
    assert any(r.metric == "spo2" and r.value == 97.0 for r in of(items, Reading))
    whole = NoninDf7Decoder()
    assert items == whole.feed(stream) + whole.finish()


perfusion = st.sampled_from([frozenset(), frozenset({"low_perfusion"}), frozenset({"marginal_perfusion"})])
other_flags = st.frozensets(
    st.sampled_from(["sensor_off", "artifact", "out_of_track", "low_battery", "smartpoint"])
)


@settings(max_examples=150, deadline=None)
@given(
    spo2=st.none() | st.integers(0, 100),
    pulse=st.none() | st.integers(0, 300),
    pleth=st.lists(st.integers(0, 0xFFFF), min_size=25, max_size=25),
    flags=st.builds(frozenset.union, perfusion, other_flags),
)
def test_encode_then_decode_round_trips(
    spo2: int | None, pulse: int | None, pleth: list[int], flags: frozenset[str]
) -> None:
    items = decode(encode_df7_packet(pleth, spo2=spo2, pulse_rate=pulse, flags=flags))
    assert of(items, WaveChunk)[0].samples == tuple(pleth)
    got = readings(items)
    off = "sensor_off" in flags
    assert got["spo2"].value == (None if off or spo2 is None else spo2)
    assert got["pulse_rate"].value == (None if off or pulse is None else pulse)
    assert got["spo2"].flags == flags == got["pulse_rate"].flags


class SteadyPatient:
    """A constant patient: the simulator's encoding is checked without the real physiology model."""

    def __init__(self, **vitals: object) -> None:
        base = dict(spo2=97.0, pulse_rate=72.0, perfusion_index=2.0, systolic=None, diastolic=None, mean=None)
        self.snapshot = VitalsSnapshot(**{**base, **vitals})

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return self.snapshot

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return 0.5 + 0.5 * np.sin(2 * np.pi * (t0_s + np.arange(n) / rate_hz))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 0.2), min_size=1, max_size=40))
def test_the_simulator_sends_75_frames_a_second_over_any_split(steps: list[float]) -> None:
    simulator = NoninDf7Simulator(SteadyPatient())
    sent = b"".join(simulator.advance(dt) for dt in steps)
    assert len(sent) == 5 * int(sum(steps) * 75 + 1e-9)


def test_the_simulated_stream_decodes_to_the_model_values() -> None:
    simulator = DF7.simulator(SteadyPatient())
    items = decode(b"".join(simulator.advance(0.05) for _ in range(40)))  # 2 s
    assert not of(items, DecodeError)
    assert [(r.metric, r.value) for r in of(items, Reading)] == [("spo2", 97.0), ("pulse_rate", 72.0)] * 2
    samples = [s for c in of(items, WaveChunk) for s in c.samples]
    assert len(samples) == 150 and min(samples) >= 0 and max(samples) > 60000


def test_a_simulated_sensor_off_sends_snsa_and_no_values() -> None:
    simulator = NoninDf7Simulator(SteadyPatient(sensor_off=True, artifact=True))
    got = readings(decode(simulator.advance(1.0)))
    assert got["spo2"].value is None and got["pulse_rate"].value is None
    assert got["spo2"].flags == {"sensor_off", "artifact"}


def test_a_disconnected_simulator_sends_nothing() -> None:
    simulator = NoninDf7Simulator(SteadyPatient(connected=False))
    assert not simulator.connected
    assert simulator.advance(1.0) == b""


def test_the_simulator_acknowledges_its_own_format_command_only() -> None:
    simulator = NoninDf7Simulator(SteadyPatient())
    assert simulator.receive(select_format_command(0x07)) == b"\x06"
    assert simulator.receive(select_format_command(0x02)) == b"\x15"


def test_the_descriptor_is_registered_as_nonin_df7() -> None:
    assert descriptor("nonin-df7") is DF7
    assert DF7.serial is not None and DF7.serial.baudrate == 9600 and DF7.serial.parity == "N"
    assert {(t.metric, t.nominal_rate_hz) for t in DF7.tracks} == {
        ("pleth", 75.0),
        ("spo2", 1.0),
        ("pulse_rate", 1.0),
    }
    assert DF7.start_command == H("02 70 02 02 07 03")

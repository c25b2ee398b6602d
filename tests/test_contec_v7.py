"""Contec CMS50D+ protocol V7.0 packets in, readings and 60 Hz pleth out (vectors from protocols.md §8.2)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, LinkEvent, Reading, WaveChunk
from kapmonitor.devices.contec.descriptors import CONTEC_V7
from kapmonitor.devices.contec.stream import ContecSample
from kapmonitor.devices.contec.v7 import (
    INFORM_CONNECTED,
    START_REALTIME,
    STOP_REALTIME,
    ContecV7Decoder,
    encode_v7_realtime,
    v7_command,
)
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

MARKMLL = bytes.fromhex("01 E0 85 D5 9A BD E3 FF FF")
HEADROTOR = bytes.fromhex("01 E0 85 B3 96 C1 E1 FF FF")
FINGER_OUT = bytes.fromhex("01 E1 84 C0 90 80 80 FF FF")


def numerics(items: list[object]) -> dict[str, float | None]:
    return {i.metric: i.value for i in items if isinstance(i, Reading)}


def pleth(items: list[object]) -> list[int]:
    return [s for i in items if isinstance(i, WaveChunk) for s in i.samples]


def test_markmll_capture() -> None:
    items = ContecV7Decoder().feed(MARKMLL)
    assert numerics(items) == {"spo2": 99, "pulse_rate": 61, "perfusion_index": None}
    assert pleth(items) == [85]
    chunk = next(i for i in items if isinstance(i, WaveChunk))
    assert chunk.rate_hz == 60 and chunk.metric == "pleth"


def test_headrotor_capture() -> None:
    items = ContecV7Decoder().feed(HEADROTOR)
    assert numerics(items)["pulse_rate"] == 65 and numerics(items)["spo2"] == 97


def test_finger_out_arrives_as_zero_and_becomes_none_with_sensor_off() -> None:
    items = ContecV7Decoder().feed(FINGER_OUT)
    assert numerics(items) == {"spo2": None, "pulse_rate": None, "perfusion_index": None}
    assert all("sensor_off" in i.flags for i in items if isinstance(i, Reading | WaveChunk))
    assert pleth(items) == [64]


def test_sentinels_are_none_and_pi_is_hundredths() -> None:
    sample = ContecSample(pleth=40, spo2=None, pulse_rate=None, perfusion_index=None)
    assert numerics(ContecV7Decoder().feed(encode_v7_realtime(sample))) == {
        "spo2": None,
        "pulse_rate": None,
        "perfusion_index": None,
    }
    raw = bytes.fromhex("01 80 85 D5 8A BD E3 C2 81")  # PI low 0x42, high 0x01: 0x0142 = 322 -> 3.22 %
    assert numerics(ContecV7Decoder().feed(raw))["perfusion_index"] == 3.22


def test_host_commands_are_nine_bytes_with_zeros_sent_as_0x80() -> None:
    assert bytes.fromhex("7D 81 A1 80 80 80 80 80 80") == START_REALTIME
    assert bytes.fromhex("7D 81 AF 80 80 80 80 80 80") == INFORM_CONNECTED
    assert v7_command(0xA2) == STOP_REALTIME


def test_descriptor_starts_the_stream_and_keeps_it_alive_every_five_seconds() -> None:
    assert descriptor("contec-v7") is CONTEC_V7
    assert CONTEC_V7.start_command == START_REALTIME
    assert CONTEC_V7.keepalive is not None
    assert CONTEC_V7.keepalive.payload == INFORM_CONNECTED and CONTEC_V7.keepalive.interval_s == 5.0
    assert CONTEC_V7.serial is not None and CONTEC_V7.serial.baudrate == 115200


def test_storage_packet_gives_stored_pairs_and_skips_padding() -> None:
    items = ContecV7Decoder().feed(
        bytes.fromhex("0F 80 E2 C6 E2 C6 E2 C6") + bytes.fromhex("0F 80 E2 C6 80 80 80 80")
    )
    readings = [i for i in items if isinstance(i, Reading)]
    assert [(r.metric, r.value) for r in readings] == [("spo2", 98), ("pulse_rate", 70)] * 4
    assert all(r.flags == {"stored"} for r in readings)


def test_stop_reply_and_disconnect_notice_are_link_events() -> None:
    items = ContecV7Decoder().feed(bytes.fromhex("0C 80 0D 80 81"))
    assert [(i.kind, i.detail) for i in items if isinstance(i, LinkEvent)] == [
        ("device_notice", "idle"),
        ("device_notice", "disconnect: shutdown"),
    ]


def test_garbage_and_truncated_packets_resync_on_the_type_byte() -> None:
    dec = ContecV7Decoder()
    items = dec.feed(MARKMLL + MARKMLL[:5] + HEADROTOR + bytes.fromhex("FF FE") + MARKMLL[:5] + HEADROTOR)
    errors = [i for i in items if isinstance(i, DecodeError)]
    # One error per garbage episode, at its offset in the stream; good packets between episodes.
    assert [(e.reason, e.offset) for e in errors] == [("truncated packet 0x01", 9), ("no type byte", 23)]
    assert pleth(items) == [85, 51, 51]
    assert dec.stats.frames_ok == 3 and dec.stats.resyncs == 2 and dec.stats.bytes_discarded == 12


def test_numerics_are_sent_on_change_and_once_a_second_pleth_every_packet() -> None:
    items = ContecV7Decoder().feed(MARKMLL * 120)
    assert len(pleth(items)) == 120
    assert len([i for i in items if isinstance(i, Reading) and i.metric == "spo2"]) == 2


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_and_the_buffer_is_bounded(data: bytes) -> None:
    dec = ContecV7Decoder()
    dec.feed(data)
    assert len(dec._buf) <= 32
    assert dec.stats.bytes_in == len(data)


samples = st.builds(
    ContecSample,
    pleth=st.integers(0, 127),
    spo2=st.one_of(st.none(), st.integers(1, 100)),
    pulse_rate=st.one_of(st.none(), st.integers(1, 254)),
    perfusion_index=st.one_of(st.none(), st.integers(0, 0xFFFE).map(lambda n: n / 100)),
    searching=st.booleans(),
    searching_too_long=st.booleans(),
    spo2_dropping=st.booleans(),
    pulse_beep=st.booleans(),
    signal=st.integers(0, 15),
    bar=st.integers(0, 15),
)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_encode_then_decode_round_trips(sample: ContecSample) -> None:
    items = ContecV7Decoder().feed(encode_v7_realtime(sample))
    assert numerics(items) == {
        "spo2": sample.spo2,
        "pulse_rate": sample.pulse_rate,
        "perfusion_index": sample.perfusion_index,
    }
    assert pleth(items) == [sample.pleth]
    assert all(i.flags == sample.flags for i in items if isinstance(i, Reading))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(samples.map(encode_v7_realtime), st.binary(max_size=4)), max_size=20))
def test_byte_by_byte_feeding_equals_whole_feeding(parts: list[bytes]) -> None:
    data = b"".join(parts)
    whole = ContecV7Decoder().feed(data)
    dec = ContecV7Decoder()
    single = [item for b in data for item in dec.feed(bytes([b]))]
    assert [i for i in single if not isinstance(i, WaveChunk)] == [
        i for i in whole if not isinstance(i, WaveChunk)
    ]
    assert pleth(single) == pleth(whole)


class SteadyPatient:
    """A constant patient whose finger leaves the probe between 3 s and 4 s."""

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(96.0, 64.0, 1.5, 120.0, 80.0, 93.0, sensor_off=3 <= t_s < 4)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return 0.5 + 0.5 * np.sin(2 * np.pi * (t0_s + np.arange(n) / rate_hz))


def run(sim: object, dec: ContecV7Decoder, seconds: float, keepalive: bool) -> list[object]:
    items: list[object] = []
    for step in range(round(seconds * 10)):
        if keepalive and step % 50 == 0:
            sim.receive(INFORM_CONNECTED)
        items += dec.feed(sim.advance(0.1))
    return items


def test_simulator_is_silent_until_started_then_streams_sixty_hertz() -> None:
    sim = CONTEC_V7.simulator(SteadyPatient())
    dec = CONTEC_V7.decoder()
    assert run(sim, dec, 2, keepalive=False) == []
    assert sim.receive(START_REALTIME) == b""
    items = run(sim, dec, 6, keepalive=True)
    assert len(pleth(items)) == 360
    spo2 = [i for i in items if isinstance(i, Reading) and i.metric == "spo2"]
    assert {r.value for r in spo2} == {96, None}
    assert all(r.value is None for r in spo2 if "sensor_off" in r.flags)
    assert any("sensor_off" in r.flags for r in spo2)
    assert numerics(items)["perfusion_index"] == 1.5


def test_simulator_stops_without_keepalive_and_answers_stop() -> None:
    sim = CONTEC_V7.simulator(SteadyPatient())
    dec = CONTEC_V7.decoder()
    sim.receive(START_REALTIME)
    assert len(pleth(run(sim, dec, 10, keepalive=False))) == 600
    assert pleth(run(sim, dec, 5, keepalive=False)) == []
    sim.receive(START_REALTIME)
    assert len(pleth(run(sim, dec, 1, keepalive=False))) == 60
    assert sim.receive(STOP_REALTIME) == bytes.fromhex("0C 80")
    assert run(sim, dec, 1, keepalive=False) == []

"""Contec CMS50D+ legacy 5-byte packets in, readings and 60 Hz pleth out (vectors from protocols.md §8.1)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading, WaveChunk
from kapmonitor.devices.contec.descriptors import CONTEC_LEGACY
from kapmonitor.devices.contec.legacy import ContecLegacyDecoder, encode_legacy
from kapmonitor.devices.contec.stream import ContecSample
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

PACKET = bytes.fromhex("85 40 08 48 61")


def numerics(items: list[object]) -> dict[str, float | None]:
    return {i.metric: i.value for i in items if isinstance(i, Reading)}


def pleth(items: list[object]) -> list[int]:
    return [s for i in items if isinstance(i, WaveChunk) for s in i.samples]


def test_signal_pleth_bar_pulse_spo2() -> None:
    items = ContecLegacyDecoder().feed(PACKET)
    assert numerics(items) == {"spo2": 97, "pulse_rate": 72}
    assert pleth(items) == [64]
    assert next(i for i in items if isinstance(i, WaveChunk)).rate_hz == 60


def test_pulse_rate_bit_seven_lives_in_byte_three() -> None:
    items = ContecLegacyDecoder().feed(bytes.fromhex("C5 30 48 05 60"))
    assert numerics(items) == {"spo2": 96, "pulse_rate": 133}
    assert pleth(items) == [48]


def test_finger_out_and_probe_error_give_none_and_sensor_off() -> None:
    items = ContecLegacyDecoder().feed(bytes.fromhex("90 00 10 00 00"))
    assert numerics(items) == {"spo2": None, "pulse_rate": None}
    assert all({"sensor_off", "probe_error"} <= i.flags for i in items)


def test_sync_bit_on_the_wrong_byte_is_rejected() -> None:
    dec = ContecLegacyDecoder()
    assert numerics(dec.feed(bytes.fromhex("00 80 00 00 00"))) == {}
    assert dec.stats.frames_ok == 0


def test_stream_drops_the_partial_head_and_keeps_the_tail() -> None:
    dec = ContecLegacyDecoder()
    items = dec.feed(bytes.fromhex("48 61 85 40 08 48 61 85 40"))
    assert pleth(items) == [64] and numerics(items) == {"spo2": 97, "pulse_rate": 72}
    assert dec.stats.bytes_discarded == 2 and len(dec._buf) == 2
    assert not any(isinstance(i, DecodeError) for i in items)  # a partial first packet is normal
    assert pleth(dec.feed(bytes.fromhex("08 48 61"))) == [64]


def test_a_truncated_packet_after_sync_is_an_error_at_its_offset() -> None:
    dec = ContecLegacyDecoder()
    items = dec.feed(PACKET + PACKET[:3] + PACKET)
    assert [(i.reason, i.offset) for i in items if isinstance(i, DecodeError)] == [("truncated packet", 5)]
    assert pleth(items) == [64, 64]
    assert dec.stats.resyncs == 1 and dec.stats.frames_ok == 2


def test_descriptor_uses_19200_odd_parity_and_xonxoff() -> None:
    assert descriptor("contec-legacy") is CONTEC_LEGACY
    s = CONTEC_LEGACY.serial
    assert s is not None and (s.baudrate, s.parity, s.xonxoff) == (19200, "O", True)
    assert CONTEC_LEGACY.start_command is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_and_the_buffer_is_bounded(data: bytes) -> None:
    dec = ContecLegacyDecoder()
    dec.feed(data)
    assert len(dec._buf) < 5
    assert dec.stats.bytes_in == len(data)


samples = st.builds(
    ContecSample,
    pleth=st.integers(0, 127),
    spo2=st.one_of(st.none(), st.integers(1, 100)),
    pulse_rate=st.one_of(st.none(), st.integers(1, 254)),
    searching=st.booleans(),
    spo2_dropping=st.booleans(),
    pulse_beep=st.booleans(),
    signal=st.integers(0, 15),
    bar=st.integers(0, 15),
)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_encode_then_decode_round_trips(sample: ContecSample) -> None:
    items = ContecLegacyDecoder().feed(encode_legacy(sample))
    assert numerics(items) == {"spo2": sample.spo2, "pulse_rate": sample.pulse_rate}
    assert pleth(items) == [sample.pleth]
    assert all(i.flags == sample.flags for i in items if isinstance(i, Reading))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(samples.map(encode_legacy), st.binary(max_size=4)), max_size=20))
def test_byte_by_byte_feeding_equals_whole_feeding(parts: list[bytes]) -> None:
    data = b"".join(parts)
    whole = ContecLegacyDecoder().feed(data)
    dec = ContecLegacyDecoder()
    single = [item for b in data for item in dec.feed(bytes([b]))]
    assert [i for i in single if not isinstance(i, WaveChunk)] == [
        i for i in whole if not isinstance(i, WaveChunk)
    ]
    assert pleth(single) == pleth(whole)


class SteadyPatient:
    """A constant patient whose finger leaves the probe between 1 s and 2 s."""

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(95.0, 80.0, None, None, None, None, sensor_off=1 <= t_s < 2)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return np.full(n, 0.25)


def test_simulator_streams_unasked_and_sensor_off_decodes_to_none() -> None:
    sim = CONTEC_LEGACY.simulator(SteadyPatient())
    dec = CONTEC_LEGACY.decoder()
    items = [i for _ in range(30) for i in dec.feed(sim.advance(0.1))]
    assert len(pleth(items)) == 180
    spo2 = [i for i in items if isinstance(i, Reading) and i.metric == "spo2"]
    assert [(r.value, "sensor_off" in r.flags) for r in spo2] == [(95, False), (None, True), (95, False)]

"""SunTech Advantage NIBP: module replies in, readings out; the host driver on a fake clock (§11)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, LinkEvent, Reading
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot
from kapmonitor.devices.suntech.decoder import SuntechDecoder
from kapmonitor.devices.suntech.descriptors import SUNTECH_ADVANTAGE
from kapmonitor.devices.suntech.driver import NibpSchedule, SuntechDriver
from kapmonitor.devices.suntech.frames import (
    GET_BP_DATA,
    GET_CUFF_PRESSURE,
    MEASUREMENT_COMPLETE,
    PNEUMATICS_ALL_CLOSED,
    START_BP,
    BpResult,
    encode_cuff_pressure,
)

CUFF_258 = bytes.fromhex("3E 05 02 01 BA")
COMPLETE = bytes.fromhex("3E 04 4B 73")
RESULT = bytes.fromhex("3E 18 73 00 4A 00 1E 01 00 00 00 00 00 00 31 07 55 00 58 00 00 00 00 E9")
BAD_CHECKSUM = bytes.fromhex("3E 05 02 01 B1")


def numerics(items: list[object]) -> dict[str, float | None]:
    return {i.metric: i.value for i in items if isinstance(i, Reading)}


def events(items: list[object]) -> list[tuple[str, str]]:
    return [(i.kind, i.detail) for i in items if isinstance(i, LinkEvent)]


def test_host_commands_sum_to_zero() -> None:
    assert bytes.fromhex("3A 20 A6") == START_BP
    assert bytes.fromhex("3A 79 05 00 48") == GET_CUFF_PRESSURE
    assert bytes.fromhex("3A 79 03 00 4A") == GET_BP_DATA
    assert bytes.fromhex("3A 0C 00 01 01 B8") == PNEUMATICS_ALL_CLOSED


def test_cuff_pressure_is_little_endian_mmhg() -> None:
    assert numerics(SuntechDecoder().feed(CUFF_258)) == {"cuff_pressure": 258}


def test_k_means_measurement_complete() -> None:
    assert events(SuntechDecoder().feed(COMPLETE)) == [("measurement_complete", "NIBP measurement complete")]


def test_bp_data_gives_systolic_diastolic_mean_and_pulse() -> None:
    items = SuntechDecoder().feed(RESULT)
    assert numerics(items) == {"nibp_systolic": 115, "nibp_diastolic": 74, "nibp_mean": 88, "pulse_rate": 85}
    assert {i.unit for i in items} == {"mmHg", "bpm"}
    assert BpResult.decode(RESULT) == BpResult(
        115, 74, 88, 85, 30, 1, 0, bytes.fromhex("00 00 00 00 00 00 31 07")
    )


def test_checksum_error_is_counted_and_the_next_frame_still_decodes() -> None:
    dec = SuntechDecoder()
    items = dec.feed(BAD_CHECKSUM + CUFF_258)
    assert [(e.reason, e.offset) for e in items if isinstance(e, DecodeError)] == [("checksum", 0)]
    assert numerics(items) == {"cuff_pressure": 258}
    assert dec.stats.checksum_errors == 1 and dec.stats.frames_ok == 1


def test_error_code_gives_none_values_flags_and_a_plain_failure() -> None:
    items = SuntechDecoder().feed(BpResult(0, 0, 0, 0, error=2).encode())
    assert numerics(items) == {
        "nibp_systolic": None,
        "nibp_diastolic": None,
        "nibp_mean": None,
        "pulse_rate": None,
    }
    assert events(items) == [("measurement_failed", "erratic signal: patient movement or artifact")]
    assert all({"invalid", "artifact"} <= i.flags for i in items if isinstance(i, Reading))
    unknown = SuntechDecoder().feed(BpResult(0, 0, 0, 0, error=200).encode())
    assert events(unknown) == [("measurement_failed", "NIBP module error code 200")]


def test_garbage_before_a_frame_is_one_resync() -> None:
    dec = SuntechDecoder()
    items = dec.feed(b"\x00\x11\x22" + CUFF_258)
    assert [(e.reason, e.offset) for e in items if isinstance(e, DecodeError)] == [("no start byte", 0)]
    assert dec.stats.resyncs == 1 and dec.stats.bytes_discarded == 3


def test_descriptor_has_a_driver_factory() -> None:
    assert descriptor("suntech-advantage") is SUNTECH_ADVANTAGE
    assert SUNTECH_ADVANTAGE.serial is not None and SUNTECH_ADVANTAGE.serial.baudrate == 9600
    assert SUNTECH_ADVANTAGE.host_driver is not None and isinstance(SUNTECH_ADVANTAGE.host_driver(), SuntechDriver)
    assert SUNTECH_ADVANTAGE.probe_query == GET_CUFF_PRESSURE


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_and_the_buffer_is_bounded(data: bytes) -> None:
    dec = SuntechDecoder()
    dec.feed(data)
    assert len(dec._buf) < 64
    assert dec.stats.bytes_in == len(data)


results = st.builds(
    BpResult,
    systolic=st.integers(1, 300),
    diastolic=st.integers(1, 250),
    mean=st.integers(1, 250),
    pulse_rate=st.integers(1, 255),
    beats=st.integers(0, 255),
    status=st.integers(0, 255),
    error=st.just(0),
    test_codes=st.binary(min_size=8, max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(results, st.integers(0, 0xFFFF))
def test_encode_then_decode_round_trips(result: BpResult, cuff: int) -> None:
    frame = result.encode()
    assert len(frame) == 0x18 and sum(frame) % 256 == 0
    assert BpResult.decode(frame) == result
    items = SuntechDecoder().feed(frame + encode_cuff_pressure(cuff))
    assert numerics(items) == {
        "nibp_systolic": result.systolic,
        "nibp_diastolic": result.diastolic,
        "nibp_mean": result.mean,
        "pulse_rate": result.pulse_rate,
        "cuff_pressure": cuff,
    }


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from([CUFF_258, COMPLETE, RESULT, BAD_CHECKSUM]), st.binary(max_size=5)))
)
def test_byte_by_byte_feeding_equals_whole_feeding(parts: list[bytes]) -> None:
    data = b"".join(parts)
    whole = SuntechDecoder().feed(data)
    dec = SuntechDecoder()
    assert [item for b in data for item in dec.feed(bytes([b]))] == whole


# ------------------------------------------------------------------------------- driver on a fake clock


def drive(driver: SuntechDriver, until_s: float, step_s: float = 0.5, start_s: float = 0.0) -> list[tuple]:
    """Poll the driver every step; return (time, bytes) for everything it sent."""
    sent = []
    t = start_s
    while t <= until_s:
        if data := driver.poll(t):
            sent.append((t, data))
        t += step_s
    return sent


def test_interval_starts_a_measurement_every_five_minutes() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=300))
    assert drive(driver, 299.5) == []
    assert driver.poll(300.0) == START_BP
    assert [e.kind for e in driver.drain_events()] == ["measurement_started"]
    driver.on_items(SuntechDecoder().feed(COMPLETE))
    assert driver.poll(301.0) == GET_BP_DATA
    driver.on_items(SuntechDecoder().feed(RESULT))
    assert driver.poll(302.0) == b"" and driver.state == "idle"
    assert drive(driver, 599.5, start_s=302.5) == []
    assert driver.poll(600.0) == START_BP


def test_request_now_measures_on_demand_and_the_interval_can_change() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None))
    assert drive(driver, 1000) == []
    driver.request_now()
    assert driver.poll(1000.5) == START_BP
    driver.on_items(SuntechDecoder().feed(COMPLETE))
    driver.poll(1001.0)
    driver.on_items(SuntechDecoder().feed(RESULT))
    driver.poll(1001.5)
    driver.set_interval(600)
    assert driver.next_due_s == 1600.5


def test_cuff_pressure_is_polled_once_a_second_while_measuring() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None))
    driver.request_now()
    assert driver.poll(0.0) == START_BP
    sent = []
    for k in range(1, 21):
        t = k * 0.25
        driver.on_items([Reading("cuff_pressure", 100.0, "mmHg")])
        if data := driver.poll(t):
            sent.append((t, data))
    assert sent == [(float(s), GET_CUFF_PRESSURE) for s in range(1, 6)]


def test_deflated_cuff_counts_as_complete_even_without_the_k_notice() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None))
    driver.request_now()
    driver.poll(0.0)
    for mmhg in (60.0, 150.0, 80.0, 8.0):
        driver.on_items([Reading("cuff_pressure", mmhg, "mmHg")])
    assert driver.poll(1.0) == GET_BP_DATA


def test_no_result_within_the_timeout_is_a_plain_failure() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None, measurement_timeout_s=60))
    driver.request_now()
    driver.poll(0.0)
    for k in range(1, 130):
        driver.on_items([Reading("cuff_pressure", 120.0, "mmHg")])  # stuck inflated, still answering
        driver.poll(k * 0.5)
    assert driver.state == "idle"
    failed = [e for e in driver.drain_events() if e.kind == "measurement_failed"]
    assert [e.detail for e in failed] == ["no result from the cuff within 60 s"]


def test_a_silent_module_fails_the_measurement() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None))
    driver.request_now()
    driver.poll(0.0)
    drive(driver, 12.0, start_s=0.5)
    assert driver.state == "idle"
    assert driver.drain_events()[-1].detail == "the NIBP module stopped answering for 10 s"


def test_result_query_is_retried_then_fails() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None, reply_timeout_s=3, result_attempts=3))
    driver.request_now()
    driver.poll(0.0)
    driver.on_items(SuntechDecoder().feed(COMPLETE))
    sent = drive(driver, 12.0, start_s=0.5)
    assert sent == [(0.5, GET_BP_DATA), (3.5, GET_BP_DATA), (6.5, GET_BP_DATA)]
    assert driver.drain_events()[-1].detail == "the NIBP module did not send the result"


def test_an_empty_result_without_an_error_code_is_still_a_failure() -> None:
    driver = SuntechDriver(NibpSchedule(interval_s=None))
    driver.request_now()
    driver.poll(0.0)
    driver.on_items(SuntechDecoder().feed(COMPLETE))
    assert driver.poll(0.5) == GET_BP_DATA
    driver.on_items(SuntechDecoder().feed(BpResult(0, 0, 0, 0).encode()))
    driver.poll(1.0)
    assert driver.state == "idle"
    assert driver.drain_events()[-1].detail == "the NIBP module returned no values"


# ---------------------------------------------------------------------------------------- simulator


class SteadyPatient:
    def __init__(self, *, artifact: bool = False) -> None:
        self.artifact = artifact

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return VitalsSnapshot(97.0, 70.0, None, 118.0, 76.0, 90.0, artifact=self.artifact)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return np.zeros(n)


def measure(patient: SteadyPatient) -> tuple[list[object], float]:
    """Run simulator, decoder and driver together on simulated time until the driver is idle again."""
    sim = SUNTECH_ADVANTAGE.simulator(patient)
    dec = SUNTECH_ADVANTAGE.decoder()
    driver = SuntechDriver(NibpSchedule(interval_s=None))
    driver.request_now()
    items: list[object] = []
    t = 0.0
    while t < 120:
        new = dec.feed(sim.receive(driver.poll(t)) + sim.advance(0.1))
        driver.on_items(new)
        items += new + driver.drain_events()
        t = round(t + 0.1, 3)
        if driver.state == "idle" and t > 1:
            break
    return items, t


def test_simulated_measurement_inflates_deflates_and_reports() -> None:
    items, took = measure(SteadyPatient())
    assert 25 <= took <= 40
    cuff = [i.value for i in items if isinstance(i, Reading) and i.metric == "cuff_pressure"]
    assert max(cuff) == 148 and len(cuff) >= 25
    assert numerics(items)["nibp_systolic"] == 118 and numerics(items)["nibp_diastolic"] == 76
    assert numerics(items)["nibp_mean"] == 90 and numerics(items)["pulse_rate"] == 70
    kinds = [k for k, _ in events(items)]
    assert kinds == ["measurement_started", "measurement_complete"]


def test_simulated_artifact_fails_with_a_plain_reason() -> None:
    items, _ = measure(SteadyPatient(artifact=True))
    assert ("measurement_failed", "erratic signal: patient movement or artifact") in events(items)
    assert numerics(items)["nibp_systolic"] is None


def test_simulator_ignores_a_command_with_a_bad_checksum() -> None:
    sim = SUNTECH_ADVANTAGE.simulator(SteadyPatient())
    assert sim.receive(bytes.fromhex("3A 79 05 00 47")) == b""
    assert sim.receive(GET_CUFF_PRESSURE) == encode_cuff_pressure(0)
    assert MEASUREMENT_COMPLETE == COMPLETE

"""hl7-pcd01: ORU^R01 bytes in, readings, wave chunks, errors and answers out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading, WaveChunk
from kapmonitor.devices.hl7.ack import ack_code_of, build_ack
from kapmonitor.devices.hl7.decoder import Hl7Decoder
from kapmonitor.devices.hl7.framing import mllp_frame
from kapmonitor.devices.hl7.message import MessageReader, parse_ts
from kapmonitor.devices.hl7.simulator import Hl7MonitorSimulator
from kapmonitor.devices.simulation.physiology import PhysiologicalModel

MSH = "MSH|^~\\&|EXAMPLE_MON^0011223344556677^EUI-64|CLINIC|||20260301101500+0100||ORU^R01^ORU_R01|77|P|2.6|||AL|NE"
HEAD = [
    MSH,
    "PID|||KAP-0042^^^CLINIC^MR",
    "PV1||O|KAP^2^1",
    "OBR|1|77^EXAMPLE_MON^0011223344556677^EUI-64||182777000^monitoring of patient^SCT|||20260301101500+0100",
]
SPO2 = (
    "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|96|262688^MDC_DIM_PERCENT^MDC|||||R|||20260301101500+0100"
)
NIBP = (
    "OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.9.150021|131|266016^MDC_DIM_MMHG^MDC|||||R|||20260301101200+0100"
)


def message(*obx: str, head: list[str] | None = None, sep: str = "\r") -> bytes:
    return sep.join([*(head or HEAD), *obx]).encode()


def decode(data: bytes) -> list:
    decoder = Hl7Decoder()
    return decoder.feed(data) + decoder.finish()


def readings(items: list) -> list[Reading]:
    return [i for i in items if isinstance(i, Reading)]


def errors(items: list) -> list[DecodeError]:
    return [i for i in items if isinstance(i, DecodeError)]


def test_the_protocols_example_gives_spo2_and_an_older_systolic_with_their_own_offsets() -> None:
    items = decode(mllp_frame(message(SPO2, NIBP)))
    plus_one = timezone(timedelta(hours=1))
    assert readings(items) == [
        Reading("spo2", 96, "%", frozenset(), datetime(2026, 3, 1, 10, 15, tzinfo=plus_one)),
        Reading("nibp_systolic", 131, "mmHg", frozenset(), datetime(2026, 3, 1, 10, 12, tzinfo=plus_one)),
    ]


def test_the_nibp_reading_carries_how_long_before_the_message_it_was_measured() -> None:
    parsed = MessageReader().parse(message(SPO2, NIBP))
    assert parsed.ack_code == "AA" and parsed.control_id == "77"
    assert parsed.ages_us == [0, 180_000_000]
    assert parsed.identity.eui64 == "0011223344556677" and parsed.identity.patient_id == "KAP-0042"


def test_kpa_becomes_mmhg_and_fahrenheit_celsius() -> None:
    items = decode(
        message(
            "OBX|1|NM|151712^MDC_CONC_AWAY_CO2_EXP^MDC|1.5.1.151712|5.1|268035^MDC_DIM_KILO_PA^MDC|||||R",
            "OBX|2|NM|150344^MDC_TEMP^MDC|1.6.1.150344|98.6|[degF]^degrees F^UCUM|||||R",
            "OBX|3|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.9.150022|10.5|kPa^kPa^UCUM|||||R",
        )
    )
    values = {r.metric: (r.value, r.unit) for r in readings(items)}
    assert values == {"etco2": (38.253, "mmHg"), "temperature": (37.0, "°C"), "nibp_diastolic": (78.757, "mmHg")}


def test_a_cancelled_result_is_no_value_and_flagged_invalid() -> None:
    items = decode(message("OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|96|262688^MDC_DIM_PERCENT^MDC|||||X"))
    (r,) = readings(items)
    assert r.value is None and r.flags == {"invalid"}


def test_a_sentinel_is_never_a_reading() -> None:
    items = decode(
        message("OBX|1|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.3.1.149530|-1|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R")
    )
    assert readings(items) == []
    assert [e.reason for e in errors(items)] == ["implausible"]


def test_a_monitor_in_training_mode_sends_readings_flagged_demo() -> None:
    head = [HEAD[0].replace("|77|P|", "|77|T|"), *HEAD[1:]]
    (r,) = readings(decode(message(SPO2, head=head)))
    assert r.flags == {"demo"}


def test_an_unknown_code_is_reported_once_per_monitor_and_the_rest_is_taken() -> None:
    unknown = "OBX|5|NM|148066^MDC_ECG_V_P_C_RATE^MDC|1.5.1.2|0|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R"
    decoder = Hl7Decoder()
    first = decoder.feed(mllp_frame(message(SPO2, unknown)))
    second = decoder.feed(mllp_frame(message(SPO2, unknown)))
    assert [e.reason for e in errors(first)] == ["unknown_code"] and errors(second) == []
    assert len(readings(first)) == len(readings(second)) == 1


def test_a_unit_the_metric_cannot_be_in_is_an_error_and_an_ae() -> None:
    parsed = MessageReader().parse(message(SPO2.replace("262688^MDC_DIM_PERCENT^MDC", "266016^MDC_DIM_MMHG^MDC")))
    assert parsed.ack_code == "AE" and "unit" in parsed.reason
    assert [type(i).__name__ for i in parsed.items] == ["DecodeError"]


def test_no_msh_is_rejected_and_a_malformed_segment_is_skipped() -> None:
    assert MessageReader().parse(b"PID|||X\rOBX|1|NM|1^x^MDC||1").ack_code == "AR"
    parsed = MessageReader().parse(message("%%garbage%%", SPO2))
    assert parsed.ack_code == "AE" and len(readings(parsed.items)) == 1


def test_a_waveform_comes_at_the_rate_of_its_sample_period() -> None:
    wave = "OBX|1|NA|150452^MDC_PULS_OXIM_PLETH^MDC|1.3.1.150452|1^2^3^4^5|262656^MDC_DIM_DIMLESS^MDC|||||R"
    period = "OBX|2|NM|67981^MDC_ATTR_TIME_PD_SAMP^MDC|1.3.1.150452.1|8|264338^MDC_DIM_MILLI_SEC^MDC|||||R"
    items = decode(message(wave, period))
    assert [i for i in items if isinstance(i, WaveChunk)] == [WaveChunk("pleth", 125.0, (1, 2, 3, 4, 5))]
    assert [e.reason for e in errors(decode(message(wave)))] == ["wave"]


def test_blank_line_separated_text_with_lf_segments_reads_like_mllp() -> None:
    text = message(SPO2, sep="\n") + b"\n\n" + message(NIBP, sep="\r\n") + b"\r\n"
    assert readings(decode(text)) == readings(decode(mllp_frame(message(SPO2)) + mllp_frame(message(NIBP))))


def test_a_frame_split_across_every_byte_decodes_whole() -> None:
    data = mllp_frame(message(SPO2, NIBP)) * 2
    decoder = Hl7Decoder()
    items = [i for b in data for i in decoder.feed(bytes([b]))]
    assert len(readings(items)) == 4 and errors(items) == []


def test_a_ten_megabyte_message_is_skipped_and_the_next_one_taken() -> None:
    huge = mllp_frame(message("OBX|1|ST|1^note^99X||" + "x" * 10_000_000))
    decoder = Hl7Decoder()
    items = []
    stream = huge + mllp_frame(message(SPO2))
    for i in range(0, len(stream), 65536):
        items += decoder.feed(stream[i : i + 65536])
    assert [e.reason for e in errors(items)] == ["too_large"]
    assert [r.metric for r in readings(items)] == ["spo2"]
    assert decoder.framer.pending < 100


def test_a_stream_that_ends_inside_a_frame_says_so() -> None:
    assert [e.reason for e in decode(mllp_frame(message(SPO2))[:50])] == ["truncated"]


def test_vendor_codes_come_through_their_table() -> None:
    sim = Hl7MonitorSimulator(PhysiologicalModel(seed=2), vendor_codes=True)
    items = decode(sim.advance(45))
    metrics = {r.metric for r in readings(items)}
    assert {"spo2", "pulse_rate", "nibp_systolic", "etco2", "temperature"} <= metrics
    assert all(34 < r.value < 40 for r in readings(items) if r.metric == "etco2")  # sent in kPa
    assert all(c.rate_hz == 75 for c in items if isinstance(c, WaveChunk))
    assert errors(items) == []


def test_the_ack_echoes_the_control_id_and_names_the_reason() -> None:
    accepted = build_ack(MessageReader().parse(message(SPO2)))
    assert hl7.parse(accepted.decode()).segment("MSA")[1][0] == "AA"
    assert ack_code_of(accepted) == ("AA", "")
    refused = build_ack(MessageReader().parse(message(SPO2, head=[MSH.replace("ORU^R01^ORU_R01", "ADT^A01")])))
    code, reason = ack_code_of(refused)
    assert code == "AR" and "ADT A01 is not taken" in reason
    assert "|77|" in refused.decode()


def test_times_keep_their_offset_or_stay_local() -> None:
    assert parse_ts("20260301101500.25-0500") == datetime(2026, 3, 1, 10, 15, 0, 250000, timezone(timedelta(hours=-5)))
    assert parse_ts("202603011015") == datetime(2026, 3, 1, 10, 15)
    assert parse_ts("20261301") is None and parse_ts("later") is None


@pytest.mark.parametrize("seed", [1, 2])
def test_the_splitter_agrees_with_python_hl7(seed: int) -> None:
    text = Hl7MonitorSimulator(PhysiologicalModel(seed=seed)).message_at(50.0)
    full = hl7.parse(text)
    ours = MessageReader().parse(text.encode())
    obx_values = [str(s[5]) for s in full.segments("OBX") if str(s[2]) == "NM" and "ATTR" not in str(s[3])]
    assert [f"{r.value:g}" for r in readings(ours.items)] == [f"{float(v):g}" for v in obx_values if v]
    assert ours.control_id == str(full.segment("MSH")[10])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_never_raise(data: bytes) -> None:
    decoder = Hl7Decoder()
    decoder.feed(data)
    decoder.feed(mllp_frame(data))
    decoder.finish()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["|", "^", "~", "\\", "&", "\r", "\n", "MSH", "OBX", "NM", "1", "x", "2026"]), max_size=60)
)
def test_near_hl7_text_never_raises_and_always_gets_an_answer(parts: list[str]) -> None:
    parsed = MessageReader().parse(("MSH|^~\\&|" + "".join(parts)).encode())
    assert parsed.ack_code in ("AA", "AE", "AR")
    assert build_ack(parsed).startswith(b"MSH|")


def test_device_time_with_offset_is_the_same_instant_on_any_clock() -> None:
    (r,) = readings(decode(message(SPO2)))
    assert r.t_device is not None and r.t_device.astimezone(UTC) == datetime(2026, 3, 1, 9, 15, tzinfo=UTC)

"""`kapmonitor decode`: bytes or hex in, one JSON object per item out; exit 0 on any bytes, else 2."""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from kapmonitor.cli import main
from kapmonitor.cli.jsonl import item_to_json
from kapmonitor.core.readings import DecodeError, LinkEvent, Reading, WaveChunk
from kapmonitor.devices.base import Decoder, DeviceDescriptor, TrackSpec
from kapmonitor.devices.nonin.descriptors import encode_df7_packet
from kapmonitor.devices.registry import BUILTIN, descriptor

H = bytes.fromhex
DF7_FRAMES = H("81 12 34 00 C7 82 FF FF 48 C8 A8 00 00 7F 27")
DF13_RECORD = H("00 02 00 0D 00 0E 20 24 06 15 14 30 00 00 02 00 00 48 00 61 4E 03")


def run_decode(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict], str]:
    code = main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def write(tmp_path: Path, data: bytes | str, name: str = "input") -> str:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return str(path)


def test_df7_frames_print_as_a_wave_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_decode(capsys, "--protocol", "nonin-df7", write(tmp_path, DF7_FRAMES))
    assert code == 0
    assert lines == [{"kind": "wave", "metric": "pleth", "rate_hz": 75, "samples": [4660, 65535, 0]}]


def test_a_df7_packet_prints_wave_then_numerics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packet = encode_df7_packet(list(range(25)), spo2=97, pulse_rate=72, flags=frozenset({"artifact"}))
    _, lines, _ = run_decode(capsys, "--protocol", "nonin-df7", write(tmp_path, packet))
    assert lines[1:] == [
        {"kind": "numeric", "metric": "spo2", "value": 97, "unit": "%", "flags": ["artifact"],
         "t_device": None},
        {"kind": "numeric", "metric": "pulse_rate", "value": 72, "unit": "bpm", "flags": ["artifact"],
         "t_device": None},
    ]  # fmt: skip
    assert isinstance(lines[1]["value"], int)


def test_df13_prints_the_device_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, lines, _ = run_decode(capsys, "--protocol", "nonin-df13", write(tmp_path, DF13_RECORD))
    assert [(line["value"], line["t_device"], line["flags"]) for line in lines] == [
        (97, "2024-06-15T14:30:00", ["smartpoint"]),
        (72, "2024-06-15T14:30:00", ["smartpoint"]),
    ]


def test_garbage_exits_0_with_error_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = run_decode(capsys, "--protocol", "nonin-df7", write(tmp_path, bytes(range(256)) * 3))
    assert code == 0
    assert lines and all(line["kind"] == "error" for line in lines)
    assert set(lines[0]) == {"kind", "reason", "offset", "detail"}


def test_an_empty_file_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_decode(capsys, "--protocol", "nonin-df2", write(tmp_path, b""))[:2] == (0, [])


def test_hex_input_joins_digits_across_lines_for_serial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "81 12 34 00 C7 82 FF\nFF 48 C8\n\nA8 00 00 7\nF 27\n"
    _, lines, _ = run_decode(capsys, "--protocol", "nonin-df7", "--hex", write(tmp_path, text))
    assert lines == [{"kind": "wave", "metric": "pleth", "rate_hz": 75, "samples": [4660, 65535, 0]}]


def test_a_line_of_bad_hex_is_an_error_at_its_line_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "80 48 61 00\nnot hex\n81 48 5F 20\n"
    code, lines, _ = run_decode(capsys, "--protocol", "nonin-df8", "--hex", write(tmp_path, text))
    assert code == 0
    assert lines[2] == {"kind": "error", "reason": "hex", "offset": 2}
    assert [line.get("value") for line in lines] == [97, 72, None, 95, 200]


def test_stdin_is_read_with_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(H("80 48 61 00"))))
    code, lines, _ = run_decode(capsys, "--protocol", "nonin-df8", "-")
    assert code == 0 and [line["value"] for line in lines] == [97, 72]


def test_an_unknown_protocol_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = run_decode(capsys, "--protocol", "nonin-df99", write(tmp_path, b"\x00"))
    assert code == 2 and lines == []
    assert err.count("\n") == 1 and "nonin-df99" in err and "nonin-df7" in err


def test_an_unreadable_file_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_decode(capsys, "--protocol", "nonin-df7", str(tmp_path / "missing.bin"))
    assert code == 2 and err.count("\n") == 1 and "missing.bin" in err
    code, _, err = run_decode(capsys, "--protocol", "nonin-df7", str(tmp_path))
    assert code == 2 and err.count("\n") == 1


def test_ble_hex_input_feeds_one_notification_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any registered protocol works; a Bluetooth one gets each line as one ``feed`` call."""
    fed: list[bytes] = []

    class RecordingDecoder(Decoder):
        protocol = "test-ble"

        def feed(self, data: bytes) -> list:
            fed.append(data)
            return [DecodeError("seen", len(fed), data.hex())]

    fake = DeviceDescriptor(
        "test-ble", "a BLE test protocol", "ble", RecordingDecoder, (TrackSpec("spo2", 1.0),)
    )
    monkeypatch.setitem(BUILTIN, "test-ble", (__name__, "FAKE_BLE"))
    monkeypatch.setitem(globals(), "FAKE_BLE", fake)
    descriptor.cache_clear()
    try:
        _, lines, _ = run_decode(
            capsys, "--protocol", "test-ble", "--hex", write(tmp_path, "06 00 7A\n\n00 48\nzz\n")
        )
    finally:
        descriptor.cache_clear()
    assert fed == [H("06 00 7A"), H("00 48")]
    assert lines == [
        {"kind": "error", "reason": "seen", "offset": 1, "detail": "06007a"},
        {"kind": "error", "reason": "seen", "offset": 2, "detail": "0048"},
        {"kind": "error", "reason": "hex", "offset": 4},
    ]


def test_item_shapes() -> None:
    assert item_to_json(Reading("spo2", 96.5, "%", frozenset({"b", "a"}), datetime(2024, 1, 2, 3, 4, 5))) == {
        "kind": "numeric", "metric": "spo2", "value": 96.5, "unit": "%", "flags": ["a", "b"],
        "t_device": "2024-01-02T03:04:05",
    }  # fmt: skip
    assert item_to_json(Reading("spo2", None, "%"))["value"] is None
    assert item_to_json(Reading("spo2", float("nan"), "%"))["value"] is None
    assert item_to_json(WaveChunk("pleth", 62.5, (1, 2))) == {
        "kind": "wave", "metric": "pleth", "rate_hz": 62.5, "samples": [1, 2],
    }  # fmt: skip
    assert item_to_json(DecodeError("checksum", 125)) == {
        "kind": "error",
        "reason": "checksum",
        "offset": 125,
    }
    assert item_to_json(LinkEvent("connected", "9600 8N1")) == {
        "kind": "link", "event": "connected", "detail": "9600 8N1",
    }  # fmt: skip

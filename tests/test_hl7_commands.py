"""The command line for hl7-pcd01: `decode` reads saved messages into JSON Lines; `simulate --to` is a monitor
that sends to a listener until it is terminated, and waits for one that is not there yet."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from link_test_protocol import Collected

from kapmonitor.cli import main
from kapmonitor.core.readings import Reading
from kapmonitor.devices.hl7.framing import mllp_frame
from kapmonitor.devices.links.mllp import MllpListener

SPO2 = "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.3.1.150456|96|262688^MDC_DIM_PERCENT^MDC|||||R|||20260301101500+0100"
HEAD = "MSH|^~\\&|MON^0011223344556677^EUI-64|CLINIC|||20260301101500+0100||ORU^R01^ORU_R01|77|P|2.6"


def test_decode_reads_mllp_frames_and_text_blocks_into_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    framed = tmp_path / "capture.bin"
    whole = mllp_frame(f"{HEAD}\r{SPO2}".encode())
    framed.write_bytes(whole + b"\x0bMSH|^~\\&|cut off")
    assert main(["decode", "--protocol", "hl7-pcd01", str(framed)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [
        {"kind": "numeric", "metric": "spo2", "value": 96, "unit": "%", "flags": [],
         "t_device": "2026-03-01T10:15:00+01:00"},
        {"kind": "error", "reason": "truncated", "offset": len(whole),
         "detail": "the stream ended inside a message (16 bytes)"},
    ]  # fmt: skip
    text = tmp_path / "pasted.hl7"
    text.write_text(f"{HEAD}\n{SPO2}\n\n{HEAD}\n{SPO2.replace('|96|', '|95|')}\n")
    assert main(["decode", "--protocol", "hl7-pcd01", str(text)]) == 0
    assert [json.loads(line)["value"] for line in capsys.readouterr().out.splitlines()] == [96, 95]


def spo2(collected: Collected) -> list[Reading]:
    return [r for r in collected.readings() if r.metric == "spo2"]


def test_simulate_to_a_listener_that_starts_later_then_stops_cleanly_on_sigterm() -> None:
    probe = MllpListener("tcp://127.0.0.1:0")
    probe.start(Collected())
    port = probe.port
    probe.stop()  # a free port with nobody listening yet
    proc = subprocess.Popen(
        [sys.executable, "-m", "kapmonitor.cli", "simulate", "--protocol", "hl7-pcd01", "--to",
         f"tcp://127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    collected = Collected()
    listener = MllpListener(f"tcp://127.0.0.1:{port}")
    try:
        assert proc.stdout is not None
        assert "retrying" in proc.stdout.readline()
        listener.start(collected)
        end = time.monotonic() + 20
        while len(spo2(collected)) < 3 and time.monotonic() < end:
            time.sleep(0.1)
        assert len(spo2(collected)) >= 3
        assert {r.device for r in spo2(collected)} == {"hl7-pcd01@0012A1FFFE000001"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        listener.stop()
    assert proc.returncode == 0 and err == ""


def test_simulate_a_network_monitor_needs_an_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--protocol", "hl7-pcd01"]) == 2
    assert "give --to tcp://HOST:PORT" in capsys.readouterr().err
    assert main(["simulate", "--protocol", "hl7-pcd01", "--to", "udp://x"]) == 2
    assert "tcp://HOST:PORT" in capsys.readouterr().err


def test_listing_the_outbox_never_creates_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'none.sqlite'}"
    assert main(["hl7", "outbox", "--db", url]) == 2
    assert "never creates one" in capsys.readouterr().err and not (tmp_path / "none.sqlite").exists()

"""`kapmonitor record`: clear errors for a bad command line, and a recording that survives SIGKILL.

Durability promise (DESIGN.md: commits at least every 500 ms, WAL): after the process is killed outright,
every sample older than one second before the kill is in the database, the waveform without holes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from kapmonitor.cli import main
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.store.db import engine_for
from kapmonitor.store.wave_codec import decode

TESTS = Path(__file__).parent

# A recorder process with the test-only paced pleth source: what `record --simulate` does, minus the device
# bytes.
IN_PROCESS_RECORD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from store_fakes import PacedMonitor
from kapmonitor.bed.station import Station
station = Station(sys.argv[1])
station.add_transport(PacedMonitor())
station.start()
print(station.start_session("SIM-KILL"), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--device", "nonin-df7"], "expected PROTOCOL@ADDRESS"),
        (["--device", "@/dev/ttyUSB0"], "expected PROTOCOL@ADDRESS"),
        (["--device", "acme-9000@/dev/ttyUSB0"], "unknown protocol 'acme-9000'"),
        (["--simulate", "acme-9000"], "unknown protocol 'acme-9000'"),
        ([], "nothing to record"),
    ],
)
def test_a_bad_command_line_is_one_clear_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["record", *argv, "--db", f"sqlite:///{tmp_path / 'r.sqlite'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor: ") and message in err and err.count("\n") == 1


def start_recording(argv: list[str], db: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.strip().isdigit():
        process.kill()
        pytest.fail(f"recorder did not start: {line!r} {process.communicate()[1]}")
    return process, int(line)


def wait_for_pleth(db_url: str, seconds_of_data: float) -> None:
    """Until the database holds a few seconds of pleth (startup on a busy machine varies)."""
    engine = engine_for(db_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                first, last = conn.execute(text("SELECT min(t_us), max(t_us) FROM wave_chunk")).one()
            if first is not None and last - first >= seconds_of_data * US_PER_S:
                return
            time.sleep(0.1)
        pytest.fail("no pleth was recorded")
    finally:
        engine.dispose()


def kill_after_steady_recording(process: subprocess.Popen[str], db_url: str) -> int:
    wait_for_pleth(db_url, 1.5)
    time.sleep(0.5)
    kill_us = now_us()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.communicate()
    return kill_us


def pleth_rows(db_url: str, session: int) -> list[tuple[int, float, int, bytes]]:
    engine = engine_for(db_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(  # type: ignore[misc]
                        "SELECT t_us, rate_hz, n_samples, samples FROM wave_chunk"
                        f" WHERE session_id = {session} AND metric = 'pleth' ORDER BY t_us"
                    )
                )
            ]
    finally:
        engine.dispose()


def assert_contiguous_until(rows: list[tuple[int, float, int, bytes]], until_us: int) -> None:
    assert rows, "no pleth rows"
    for (t_us, rate, n, _), (next_t, next_rate, _, _) in zip(rows, rows[1:], strict=False):
        assert next_rate == rate
        assert abs(next_t - (t_us + round(n * US_PER_S / rate))) <= 2, "a hole in the stored waveform"
    t_us, rate, n, _ = rows[-1]
    last_sample_us = t_us + round((n - 1) * US_PER_S / rate)
    assert last_sample_us >= until_us, f"lost {(until_us - last_sample_us) / 1000:.0f} ms before the cut-off"


def test_sigkill_keeps_every_sample_older_than_one_second_in_process_source(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'killed.sqlite'}"
    process, session = start_recording(
        [sys.executable, "-c", IN_PROCESS_RECORD, db_url, str(TESTS)], tmp_path
    )
    kill_us = kill_after_steady_recording(process, db_url)
    rows = pleth_rows(db_url, session)
    assert_contiguous_until(rows, kill_us - US_PER_S)
    samples = np.concatenate([decode(blob, n) for _, _, n, blob in rows])
    assert samples.tolist() == list(
        range(len(samples))
    )  # the source counts up from 0: nothing lost or doubled
    engine = engine_for(db_url)
    with engine.connect() as conn:
        last_spo2 = conn.execute(text("SELECT max(t_us) FROM numeric_reading WHERE metric = 'spo2'")).scalar()
    engine.dispose()
    assert last_spo2 >= kill_us - US_PER_S - US_PER_S // 3  # one reading per third of a second


def test_sigkill_keeps_every_sample_older_than_one_second_simulated_nonin(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'killed.sqlite'}"
    argv = [sys.executable, "-m", "kapmonitor.cli", "record", "--simulate", "nonin-df7", "--db", db_url]
    process, session = start_recording(argv, tmp_path)
    kill_us = kill_after_steady_recording(process, db_url)
    assert_contiguous_until(pleth_rows(db_url, session), kill_us - US_PER_S)


def test_sigterm_ends_the_session_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    argv = [sys.executable, "-m", "kapmonitor.cli", "record", "--simulate", "nonin-df7", "--db", db_url]
    process, session = start_recording(argv, tmp_path)
    wait_for_pleth(db_url, 1.0)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert main(["sessions", "show", str(session), "--json", "--db", db_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "ended" and shown["end"] is not None
    assert {"pleth", "spo2"} <= {t["metric"] for t in shown["tracks"]}


def test_record_for_a_duration_prints_the_session_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert (
        main(
            ["record", "--simulate", "nonin-df7", "--duration", "2", "--patient", "KAP-0100", "--db", db_url]
        )
        == 0
    )
    session = int(capsys.readouterr().out.strip())
    assert main(["sessions", "list", "--json", "--db", db_url]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["patient"], listed["status"]) == (session, "KAP-0100", "ended")

"""The command line as a shell script drives it: real processes, real pipes, a real SQLite file; whatever goes
wrong is one line on stderr and a non-zero status, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kapmonitor.cli import main

SHORT = """
duration_s = 60
devices = ["nonin-df7"]
[session]
patient = "KAP-SCRIPT"
"""


def kapmonitor(*args: str, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kapmonitor.cli", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120
    )


def recorded(tmp_path: Path) -> str:
    scenario = tmp_path / "short.toml"
    scenario.write_text(SHORT)
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    assert main(["replay", str(scenario), "--db", url]) == 0
    return url


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    url = recorded(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # `kapmonitor sessions list --json | head -c0`: nobody reads what is printed
    try:
        done = kapmonitor("sessions", "list", "--json", "--db", url, stdout=write_end)
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def test_the_same_command_with_a_reader_prints_the_session(tmp_path: Path) -> None:
    url = recorded(tmp_path)
    done = kapmonitor("sessions", "list", "--json", "--db", url)
    assert done.returncode == 0, done.stderr
    [session] = json.loads(done.stdout)
    assert session["patient"] == "KAP-SCRIPT"
    assert session["status"] == "ended"


def test_a_replay_recorded_as_fast_as_it_runs_ends_now_not_in_the_future(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC)
    url = recorded(tmp_path)
    after = datetime.now(UTC)
    done = kapmonitor("sessions", "show", "1", "--json", "--db", url)
    assert done.returncode == 0, done.stderr
    session = json.loads(done.stdout)
    start, end = datetime.fromisoformat(session["start"]), datetime.fromisoformat(session["end"])
    assert end - start == timedelta(seconds=60)  # the scenario's duration
    assert before - timedelta(seconds=60) <= start and end <= after


def test_a_bad_command_line_is_one_line_naming_the_command_and_its_help() -> None:
    for args, said in (
        (("sessions", "show", "abc"), "kapmonitor sessions show: argument id: invalid int value: 'abc'"),
        (("decode",), "kapmonitor decode: the following arguments are required: --protocol"),
        (("no-such-command",), "kapmonitor: argument COMMAND: invalid choice: 'no-such-command'"),
    ):
        done = kapmonitor(*args)
        assert done.returncode == 2 and done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith(said) and line.endswith(f"(see {said.split(':')[0]} --help)")

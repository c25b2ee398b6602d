"""Bad input at the command line: each is one line on stderr, a non-zero exit, and nothing recorded half-way.
And crash recovery from the command line: `sessions list` marks an interrupted session, `sessions recover`
closes it at its last data, `record` offers it and `record --resume` continues it."""

from __future__ import annotations

import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapmonitor.cli import main
from kapmonitor.store.recovery import SESSION_INTERRUPTED

ROOT = Path(__file__).resolve().parents[1]
ALARMS = str(ROOT / "resources" / "scenarios" / "alarms.toml")
TESTS = Path(__file__).parent


def one_line(err: str) -> str:
    assert err.startswith("kapmonitor: ") and err.count("\n") == 1, err
    return err


def sessions_in(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, status FROM session ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def replayed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A database holding one replayed session (alarms.toml)."""
    path = tmp_path / "clinic" / "replayed.sqlite"
    assert main(["replay", ALARMS, "--json", "--db", f"sqlite:///{path}"]) == 0
    capsys.readouterr()
    return path


@pytest.fixture
def read_only(replayed: Path, tmp_path: Path) -> Iterator[Path]:
    """The same database where this account cannot write: a read-only bind mount when running as root (root
    ignores file modes), else the file and its directory made read-only."""
    if os.geteuid() == 0:
        view = tmp_path / "read-only-view"
        view.mkdir()
        mounted = subprocess.run(["mount", "--bind", str(replayed.parent), str(view)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot bind-mount as root here: {mounted.stderr.decode().strip()}")
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True)
            yield view / replayed.name
        finally:
            subprocess.run(["umount", str(view)], check=True)
    else:
        replayed.chmod(0o444)
        replayed.parent.chmod(0o555)
        try:
            yield replayed
        finally:
            replayed.parent.chmod(0o755)
            replayed.chmod(0o644)


def test_a_read_only_database_is_listed_shown_exported_and_verified(
    read_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{read_only}"
    with pytest.raises(OSError):  # really read-only
        (read_only.parent / "probe").write_text("x")
    assert main(["sessions", "list", "--json", "--db", url]) == 0
    (session,) = json.loads(capsys.readouterr().out)
    assert session["status"] == "ended" and session["interrupted"] is False
    assert main(["sessions", "show", str(session["id"]), "--json", "--db", url]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == session["id"]
    out = tmp_path / "export.pdf"
    assert main(["sessions", "export", str(session["id"]), "--format", "pdf", "--out", str(out), "--db", url]) == 0
    assert out.stat().st_size > 1000
    capsys.readouterr()
    assert main(["audit", "verify", "--db", url]) == 0
    assert capsys.readouterr().out.startswith("audit trail intact:")


@pytest.mark.parametrize(
    "command",
    [
        ["sessions", "list"],
        ["sessions", "show", "1"],
        ["sessions", "export", "1", "--format", "csv", "--out", "x.csv"],
        ["sessions", "recover", "1"],
        ["audit", "verify"],
    ],
)
def test_a_database_that_does_not_exist_is_refused_not_created(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "clinc.sqlite"
    assert main([*command, "--db", f"sqlite:///{typo}"]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"no database at {typo} (a command that only reads never creates one)" in err
    assert not typo.exists()


def test_a_port_that_is_not_there_is_refused_before_a_session_exists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.sqlite"
    status = main(["record", "--device", "nonin-df7@/dev/nonexistent", "--duration", "1", "--db", f"sqlite:///{db}"])
    assert status == 2
    err = one_line(capsys.readouterr().err)
    assert "--device nonin-df7@/dev/nonexistent: cannot open /dev/nonexistent: no such port" in err
    assert "--wait-for-device" in err
    assert not db.exists() or sessions_in(db) == []


def test_wait_for_device_records_while_the_port_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "w.sqlite"
    args = ["record", "--device", "nonin-df7@/dev/nonexistent", "--wait-for-device", "--duration", "0.5"]
    assert main([*args, "--db", f"sqlite:///{db}"]) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert sessions_in(db) == [(1, "ended")]


def test_a_refused_scenario_records_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "bad-dose.toml"
    scenario.write_text('duration_s = 60\ndevices = ["nonin-df7"]\n\n[[dose]]\nkind = "teleport"\nat_s = 5\n')
    db = tmp_path / "replay.sqlite"
    assert main(["replay", str(scenario), "--db", f"sqlite:///{db}"]) == 2
    one_line(capsys.readouterr().err)
    assert not db.exists() or sessions_in(db) == []


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system with no room left (a 1 MB tmpfs, filled): root only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    where = tmp_path / "full"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with (where / "filler").open("wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        yield where
    finally:
        gc.collect()  # a connection SQLite could not set up is closed when collected
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_a_full_disk_at_start_is_one_line(full_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = full_disk / "full.sqlite"
    assert main(["record", "--simulate", "nonin-df7", "--duration", "1", "--db", f"sqlite:///{db}"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "full" in err


CRASHING_RECORD = """
import os, sys
sys.path.insert(0, sys.argv[2])
from store_fakes import ScriptedMonitor
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading
from kapmonitor.bed.station import Station

station = Station(sys.argv[1])
monitor = ScriptedMonitor("nonin-df7@/dev/ttyUSB0")
station.add_transport(monitor)
station.start()
session = station.start_session("P-CRASH")
t = now_us()
monitor.send([Reading("spo2", 96.0, "%", t_us=t, device=monitor.device)])
station.hub.stop()
assert station.recorder.flush(timeout=30)
os._exit(3)
"""


@pytest.fixture
def crashed(tmp_path: Path) -> Path:
    db = tmp_path / "crash.sqlite"
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RECORD, f"sqlite:///{db}", str(TESTS)], capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr
    return db


def test_sessions_list_marks_the_interrupted_session_and_recover_closes_it(
    crashed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{crashed}"
    assert main(["sessions", "list", "--json", "--db", url]) == 0
    (session,) = json.loads(capsys.readouterr().out)
    assert (session["status"], session["interrupted"]) == ("in_progress", True)
    assert main(["sessions", "list", "--db", url]) == 0
    assert "in_progress (interrupted)" in capsys.readouterr().out
    assert main(["sessions", "show", str(session["id"]), "--json", "--db", url]) == 0
    assert json.loads(capsys.readouterr().out)["interrupted"] is True

    assert main(["sessions", "recover", str(session["id"]), "--db", url]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"session {session['id']} (P-CRASH) recovered: ended at ")
    assert main(["sessions", "show", str(session["id"]), "--json", "--db", url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "ended" and shown["end"] == session["tracks"][0]["last"]
    assert shown["interrupted"] is False
    assert [e["kind"] for e in shown["link_events"]][-1] == SESSION_INTERRUPTED
    assert main(["sessions", "recover", str(session["id"]), "--db", url]) == 2
    assert "is ended, not interrupted" in one_line(capsys.readouterr().err)
    assert main(["audit", "verify", "--db", url]) == 0


def test_record_offers_recovery_and_resume_continues_the_session(
    crashed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{crashed}"
    assert main(["record", "--simulate", "nonin-df7", "--duration", "0.5", "--db", url]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "2"
    assert "kapmonitor: session 1 (P-CRASH) was interrupted at " in captured.err
    assert "`kapmonitor record --resume 1 ...` continues it" in captured.err

    assert main(["record", "--simulate", "nonin-df7", "--duration", "0.5", "--resume", "1", "--db", url]) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert sessions_in(crashed) == [(1, "ended"), (2, "ended")]
    assert main(["record", "--simulate", "nonin-df7", "--duration", "0.5", "--resume", "1", "--db", url]) == 2
    assert "--resume 1: session 1 is ended, not interrupted" in one_line(capsys.readouterr().err)
    assert sessions_in(crashed) == [(1, "ended"), (2, "ended")]


def test_no_database_file_is_left_behind_by_a_refused_read(tmp_path: Path) -> None:
    shutil.rmtree(tmp_path, ignore_errors=True)
    tmp_path.mkdir()
    assert main(["sessions", "list", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 2
    assert list(tmp_path.iterdir()) == []

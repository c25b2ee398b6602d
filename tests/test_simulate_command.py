"""`kapmonitor simulate`: a pty path that streams the device's bytes, a real port, one-line errors."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tty
from pathlib import Path

import pytest
import serial
from link_test_protocol import LinkTestDecoder

from kapmonitor.cli import main
from kapmonitor.core.readings import WaveChunk
from kapmonitor.devices import registry

TESTS = Path(__file__).resolve().parent

# The command runs in its own process with the test protocol registered, as a technician would run it.
LAUNCHER = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import link_test_protocol
link_test_protocol.register()
from kapmonitor.cli import main
from kapmonitor.devices import registry
sys.exit(main(sys.argv[1:]))
"""


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, "simulate", "--protocol", "link-test", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(fd: int, want: int, timeout: float = 5.0) -> bytes:
    got = b""
    while len(got) < want:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            break
        got += os.read(fd, 4096)
    return got


def sequence(data: bytes) -> list[int]:
    """The frame numbers in a stream of link-test bytes."""
    return [s for i in LinkTestDecoder().feed(data) if isinstance(i, WaveChunk) for s in i.samples]


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)
    return proc.returncode, err


def test_simulate_pty_prints_a_port_that_streams_frames_until_terminated() -> None:
    proc = launch("--pty")
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        with serial.Serial(port, 115200, timeout=3) as link:
            data = link.read(50)
    finally:
        code, err = finish(proc)
    assert port and sequence(data) == list(range(10))
    assert code == 0, err
    assert not os.path.lexists(port)  # the link is removed on SIGTERM


def test_simulate_with_a_scenario_drives_the_model(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.toml"
    scenario.write_text("[patient]\npulse_rate = 50\nketamine_pulse_rise = 0\n")
    proc = launch("--scenario", str(scenario))
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        with serial.Serial(port, 115200, timeout=3) as link:
            data = link.read(10)
    finally:
        finish(proc)
    pulse = data[3]  # the first frame's pulse byte: the scenario's 50 bpm, give or take the model's drift
    assert 45 <= pulse <= 55


def test_simulate_port_writes_to_a_serial_port() -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    proc = launch("--port", os.ttyname(slave))
    try:
        data = read_until(master, 20)
    finally:
        code, err = finish(proc)
        os.close(master)
        os.close(slave)
    assert sequence(data) == list(range(4))
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--protocol", "no-such-device"], "unknown protocol 'no-such-device'"),
        (["--protocol", "link-test", "--port", "/dev/no-such-tty"], "serial port /dev/no-such-tty not found"),
    ],
)
def test_bad_command_lines_give_one_line_and_status_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.BUILTIN, "link-test", ("link_test_protocol", "DESCRIPTOR"))
    registry.descriptor.cache_clear()
    try:
        code = main(["simulate", *args])
    finally:
        registry.descriptor.cache_clear()
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("kapmonitor: ")
    assert expected in err


def test_a_bad_scenario_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[episode]]\nkind = "desaturation"\nstart_s = 1\nduration_s = 5\n')
    proc = subprocess.run(
        [sys.executable, "-c", LAUNCHER, "simulate", "--protocol", "link-test", "--scenario", str(bad)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"kapmonitor: {bad}: [[episode]] #1 (desaturation) needs value: "
        "the SpO2 (%) reached at the bottom of the dip"
    )
    assert proc.stdout == ""

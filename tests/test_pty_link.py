"""A simulated device on a pseudo-terminal: stable port name, garbage injection, replies, unplug, replug."""

from __future__ import annotations

import os
import select

import pytest
from link_test_protocol import ACK, LinkTestSimulator, frame, wait_for

from kapmonitor.devices.links.pty import PtyDevice


def read_some(fd: int, want: int, timeout: float = 3.0) -> bytes:
    got = b""
    while len(got) < want:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            break
        got += os.read(fd, 4096)
    return got


@pytest.fixture
def device() -> PtyDevice:
    dev = PtyDevice(LinkTestSimulator(), name="link-test", speed=4.0)
    yield dev
    dev.stop()


def test_the_port_is_a_link_to_a_pty_that_streams_the_simulators_bytes(device: PtyDevice) -> None:
    device.start()
    assert os.path.islink(device.port)
    assert os.path.realpath(device.port).startswith("/dev/pts/")
    fd = os.open(device.port, os.O_RDWR | os.O_NOCTTY)
    try:
        data = read_some(fd, 50)
    finally:
        os.close(fd)
    assert data.startswith(frame(0) + frame(1))


def test_host_commands_reach_the_simulator_and_its_reply_comes_back(device: PtyDevice) -> None:
    device.simulator.advance = lambda dt: b""  # a silent device, so only the reply is on the line
    device.start()
    fd = os.open(device.port, os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"??")
        assert read_some(fd, 2) == bytes([ACK, ACK])
    finally:
        os.close(fd)
    assert device.simulator.received == b"??"


def test_injected_garbage_is_spliced_into_the_stream(device: PtyDevice) -> None:
    device.start()
    fd = os.open(device.port, os.O_RDWR | os.O_NOCTTY)
    try:
        read_some(fd, 10)
        device.inject(b"\x00NOISE\x00")
        data = read_some(fd, 400)
    finally:
        os.close(fd)
    assert b"\x00NOISE\x00" in data


def test_split_writes_carry_the_same_bytes(device: PtyDevice) -> None:
    device.max_chunk = 3
    device.start()
    fd = os.open(device.port, os.O_RDWR | os.O_NOCTTY)
    try:
        data = read_some(fd, 100)
    finally:
        os.close(fd)
    assert data[:100] == b"".join(frame(i) for i in range(20))


def test_unplug_removes_the_port_and_replug_brings_it_back_under_the_same_name(device: PtyDevice) -> None:
    device.start()
    port = device.port
    device.unplug()
    assert not os.path.lexists(port) and not device.plugged
    device.replug()
    assert os.path.islink(port) and device.port == port
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    try:
        assert read_some(fd, 5)
    finally:
        os.close(fd)


def test_a_scripted_disconnect_unplugs_and_replugs_by_itself(device: PtyDevice) -> None:
    device.start()
    device.simulator.online = False
    wait_for(lambda: not os.path.lexists(device.port), what="the port to vanish")
    device.simulator.online = True
    wait_for(lambda: os.path.islink(device.port), what="the port to come back")


def test_stop_is_idempotent_and_removes_everything() -> None:
    dev = PtyDevice(LinkTestSimulator(), name="x").start()
    link_dir = os.path.dirname(dev.port)
    dev.stop()
    dev.stop()
    assert not os.path.exists(link_dir)


def test_a_port_nobody_reads_does_not_pile_up_a_backlog(device: PtyDevice) -> None:
    device.speed = 50.0  # 2500 frames a second of simulated output
    device.start()
    wait_for(lambda: device.bytes_dropped > 0, what="output to be dropped")
    fd = os.open(device.port, os.O_RDWR | os.O_NOCTTY)
    try:
        backlog = read_some(fd, 1, timeout=1.0)
        os.set_blocking(fd, False)
        while True:
            try:
                more = os.read(fd, 65536)
            except BlockingIOError:
                break
            backlog += more
    finally:
        os.close(fd)
    assert len(backlog) < 4096

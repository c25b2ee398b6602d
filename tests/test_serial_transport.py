"""The pyserial link end to end on a pseudo-terminal: resync after garbage, contiguous samples, counters,
unplug and replug, the raw capture, commands to the device, and plain messages when a port will not open."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from link_test_protocol import DESCRIPTOR, FRAME, Collected, LinkTestSimulator, wait_for

from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices import registry
from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.links.serial import SerialTransport, open_failure_message
from kapmonitor.devices.links.transport import LinkState


@pytest.fixture
def device() -> Iterator[PtyDevice]:
    # Real time: a device sending faster than its declared rate drifts from the sample clock, which re-anchors
    # after a second of drift and breaks the contiguity these tests check (seen on a loaded machine).
    dev = PtyDevice(LinkTestSimulator(), name="link-test", speed=1.0, keep_sent=True)
    yield dev
    dev.stop()


@pytest.fixture
def got() -> Collected:
    return Collected()


def assert_contiguous(collected: Collected) -> None:
    chunks = collected.chunks()
    for before, after in zip(chunks[:-1], chunks[1:], strict=True):
        assert abs(after.t_us - (before.t_us + before.duration_us)) <= 1


def test_every_valid_frame_arrives_through_garbage_and_split_reads(device: PtyDevice, got: Collected) -> None:
    device.max_chunk = 4
    device.start()
    link = SerialTransport(DESCRIPTOR, device.port)
    link.start(got)
    try:
        wait_for(lambda: len(got.samples()) >= 20, what="the first frames")
        injections = [b"\xa5\x01junk", b"\x00\xff\x13", b"\xa5\xa5\xa5"]
        for junk in injections:
            seen = len(got.samples())
            device.inject(junk)
            wait_for(lambda seen=seen: len(got.samples()) > seen + 5, what="frames after garbage")
    finally:
        link.stop()
    samples = got.samples()
    assert samples[0] == 0
    assert samples == sorted(set(samples))  # nothing twice, nothing out of order
    missing = set(range(samples[-1] + 1)) - set(samples)
    assert len(missing) <= len(injections)  # at most the frame each burst landed inside
    stats = link.stats()
    assert stats.frames_ok == len(samples)
    assert stats.resyncs >= 1 and stats.bytes_discarded >= 3
    assert any(isinstance(i, DecodeError) and i.device == link.device for i in got.snapshot())
    assert_contiguous(got)
    assert link.status().last_data_us is not None


def test_readings_are_stamped_with_the_device_id_and_arrival_time(device: PtyDevice, got: Collected) -> None:
    device.start()
    link = SerialTransport(DESCRIPTOR, device.port)
    link.start(got)
    try:
        wait_for(lambda: any(isinstance(i, Reading) for i in got.snapshot()), what="a reading")
    finally:
        link.stop()
    reading = next(i for i in got.snapshot() if isinstance(i, Reading))
    assert reading.device == f"link-test@{device.port}" == link.device
    assert reading.t_us > 0 and reading.value == 72.0


def test_unplug_and_replug_gives_a_gap_then_data_resumes_with_nothing_before_the_gap_lost(
    device: PtyDevice, got: Collected
) -> None:
    device.start()
    link = SerialTransport(DESCRIPTOR, device.port)
    link.start(got)
    try:
        wait_for(lambda: len(got.samples()) >= 10, what="data before the unplug")
        device.unplug()  # after the host has read what was sent
        sent_before = device.bytes_written // FRAME
        wait_for(lambda: link.state == LinkState.RECONNECTING, what="reconnecting")
        assert got.events("gap")
        device.replug()
        wait_for(lambda: link.state == LinkState.CONNECTED, what="connected again")
        after_gap = len(got.snapshot())
        wait_for(lambda: len(got.snapshot()) > after_gap + 3, what="data after the replug")
    finally:
        link.stop()
    items = got.snapshot()
    gap_at = next(i for i, item in enumerate(items) if getattr(item, "kind", "") == "gap")
    before = [s for c in got.chunks() if items.index(c) < gap_at for s in c.samples]
    after = [s for c in got.chunks() if items.index(c) > gap_at for s in c.samples]
    assert before == list(range(sent_before))
    assert after and after[0] > before[-1] and after == list(range(after[0], after[0] + len(after)))
    kinds = [e.kind for e in got.events()]
    assert kinds.index("reconnecting") < kinds.index("gap") < len(kinds) - 1 - kinds[::-1].index("connected")
    status = link.status()
    assert status.reconnects == 1 and status.state == LinkState.STOPPED
    assert status.data_age_s() is not None and status.data_age_s(now=status.last_data_us) == 0


def test_the_capture_file_holds_exactly_the_bytes_sent(
    device: PtyDevice, got: Collected, tmp_path: Path
) -> None:
    capture = tmp_path / "raw.bin"
    device.max_chunk = 6
    device.start()
    link = SerialTransport(DESCRIPTOR, device.port, capture=capture)
    link.start(got)
    try:
        wait_for(lambda: len(got.samples()) >= 10, what="some frames")
        device.inject(b"\xde\xad\xbe\xef")
        wait_for(lambda: len(got.samples()) >= 25, what="more frames")
        device.unplug()
        wait_for(lambda: link.state == LinkState.RECONNECTING, what="the gap")
    finally:
        link.stop()
    assert device.sent is not None
    assert capture.read_bytes() == bytes(device.sent)
    assert link.stats().bytes_in == len(device.sent)


def test_the_start_command_and_keepalives_reach_the_device_and_its_answers_are_decoded(
    device: PtyDevice, got: Collected
) -> None:
    device.start()
    link = SerialTransport(DESCRIPTOR, device.port)
    link.start(got)
    try:
        wait_for(lambda: len(got.events("ack")) >= 2, what="two keepalive answers")
    finally:
        link.stop()
    assert device.simulator.received.startswith(b"GO?")


def test_a_protocol_name_is_looked_up_in_the_registry(
    monkeypatch: pytest.MonkeyPatch, device: PtyDevice
) -> None:
    monkeypatch.setitem(registry.BUILTIN, "link-test", ("link_test_protocol", "DESCRIPTOR"))
    registry.descriptor.cache_clear()
    try:
        link = SerialTransport("link-test", device.port)
        assert link.descriptor is DESCRIPTOR and link.settings.baudrate == 115200
    finally:
        registry.descriptor.cache_clear()
    with pytest.raises(registry.UnknownProtocol):
        SerialTransport("no-such-device", device.port)


def test_a_missing_port_is_reported_plainly_and_retried(got: Collected, tmp_path: Path) -> None:
    link = SerialTransport(DESCRIPTOR, str(tmp_path / "ttyUSB9"))
    link.start(got)
    try:
        wait_for(lambda: "not found" in link.status().message, what="the message")
    finally:
        link.stop()
        link.stop()
    assert link.state == LinkState.STOPPED


def test_a_port_held_by_another_program_is_reported_busy(device: PtyDevice, got: Collected) -> None:
    device.start()
    holder = serial.Serial(device.port, exclusive=True)
    link = SerialTransport(DESCRIPTOR, device.port)
    try:
        link.start(got)
        wait_for(lambda: "busy" in link.status().message, what="the busy message")
    finally:
        link.stop()
        holder.close()


def test_open_failures_say_what_to_do() -> None:
    denied = serial.SerialException(
        errno.EACCES, "could not open port /dev/ttyUSB0: [Errno 13] Permission denied"
    )
    assert "dialout" in open_failure_message("/dev/ttyUSB0", denied)
    gone = serial.SerialException(errno.ENOENT, "could not open port")
    assert "not found" in open_failure_message("/dev/ttyUSB0", gone)
    busy = serial.SerialException(errno.EBUSY, "busy")
    assert "busy" in open_failure_message("/dev/ttyUSB0", busy)


def test_a_capture_path_that_cannot_be_written_fails_at_start(tmp_path: Path, got: Collected) -> None:
    link = SerialTransport(DESCRIPTOR, str(tmp_path / "tty"), capture=tmp_path / "no-such-dir" / "raw.bin")
    with pytest.raises(FileNotFoundError):
        link.start(got)
    link.stop()

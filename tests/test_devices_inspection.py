"""What a connection test tells the technician: link-quality counters, the likely cause when nothing decodes,
and the raw inspector's lines."""

from __future__ import annotations

from kapmonitor.core.readings import DecodeError, LinkEvent, Reading
from kapmonitor.devices.base import LinkStats, SerialSettings
from kapmonitor.devices.links.inspection import LinkTap, RawBytes, diagnosis, link_quality, settings_text
from kapmonitor.devices.links.transport import DeviceStatus, LinkState
from kapmonitor.ui.devices.raw_inspector import coalesced, entry_lines

NOW = 1_763_760_000_000_000


def status(stats: LinkStats, state: LinkState = LinkState.CONNECTED, message: str = "") -> DeviceStatus:
    return DeviceStatus("nonin-df7@/dev/ttyUSB0", "nonin-df7", "/dev/ttyUSB0", state, stats, NOW - 1_500_000, message)


def test_link_quality_names_every_counter_and_the_data_age() -> None:
    line = link_quality(status(LinkStats(400, 75, 2, 3, 17)), NOW)
    assert line == "75 frames · 2 checksum errors · 3 resyncs · 17 bytes discarded · data 1.5 s old"


def test_bytes_without_frames_point_at_the_baud_rate() -> None:
    text = diagnosis(status(LinkStats(bytes_in=900, resyncs=40, bytes_discarded=900)), "19200 8O1", 4.0)
    assert "900 bytes received but none form a nonin-df7 frame" in text
    assert "baud rate or parity is probably wrong (19200 8O1 now)" in text


def test_silence_points_at_the_cable_and_the_port() -> None:
    assert "nothing received from /dev/ttyUSB0 in 4 s" in diagnosis(status(LinkStats()), "9600 8N1", 4.0)
    assert diagnosis(status(LinkStats()), "9600 8N1", 1.0).startswith("listening on /dev/ttyUSB0")


def test_a_port_that_will_not_open_shows_the_links_own_message() -> None:
    busy = "serial port /dev/ttyUSB0 is busy: another program (or another kapmonitor) has it open; retrying"
    assert diagnosis(status(LinkStats(), LinkState.CONNECTING, busy), "9600 8N1", 5.0) == busy


def test_settings_read_like_a_device_manual() -> None:
    assert settings_text(SerialSettings(19200, parity="O", xonxoff=True)) == "19200 8O1 XON/XOFF"
    assert settings_text(SerialSettings(115200)) == "115200 8N1"


def test_the_tap_keeps_order_and_the_latest_value_of_each_metric() -> None:
    tap = LinkTap()
    tap.raw(b"\x01\x02")
    spo2 = Reading("spo2", 97, "%", frozenset(), None, NOW, "d")
    error = DecodeError("checksum", 12, "5 bytes skipped", NOW, "d")
    tap([spo2, error])
    entries = tap.drain()
    assert isinstance(entries[0], RawBytes) and entries[1:] == [spo2, error]
    assert tap.latest_values() == {"spo2": spo2} and tap.errors == 1
    assert tap.drain() == []


def test_inspector_lines_show_hex_values_and_errors_by_tone() -> None:
    raws = coalesced([RawBytes(b"\x01\xff", NOW), RawBytes(b"\x80", NOW + 5)])
    assert raws == [RawBytes(b"\x01\xff\x80", NOW)]
    ((tone, text),) = entry_lines(raws[0])
    assert tone == "muted" and text.endswith("RX  01 ff 80")
    assert entry_lines(DecodeError("checksum", 12, "5 bytes skipped", NOW, "d")) == [
        ("fault", "ERROR checksum at byte 12: 5 bytes skipped")
    ]
    assert entry_lines(Reading("spo2", None, "%", frozenset({"sensor_off"}), None, NOW, "d")) == [
        ("text", "      spo2 — %  [sensor_off]")
    ]
    assert entry_lines(LinkEvent("gap", "lost", NOW, "d"))[0][0] == "warning"

"""What a tile says for a value: dashes for nothing, words for flags, an age when old."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.live import Latest
from kapmonitor.ui.widgets.tiles import DASHES, age_text, blood_pressure_view, flag_words, numeric_view

NOW = 1_763_760_000_000_000


def test_fresh_value_is_shown_plainly() -> None:
    view = numeric_view(Latest(97.0, frozenset(), NOW - 1_000_000), NOW)
    assert (view.value, view.note, view.stale, view.alert) == ("97", "1 s old", False, False)
    assert numeric_view(Latest(97.0, frozenset(), NOW - 300_000), NOW).note == "now"


def test_ages_read_in_seconds_minutes_and_hours() -> None:
    assert [age_text(s) for s in (0.2, 12.4, 61, 7300)] == ["now", "12 s old", "1 min old", "2 h old"]


def test_flags_become_words_and_stale_flags_keep_their_age() -> None:
    assert flag_words(frozenset({"sensor_off", "low_perfusion"})) == "LOW PERFUSION  SENSOR OFF"
    view = numeric_view(Latest(None, frozenset({"searching"}), NOW - 30_000_000), NOW)
    assert (view.value, view.note, view.stale) == (DASHES, "SEARCHING  ·  30 s old", True)


def test_blood_pressure_without_a_mean_shows_dashes_for_it() -> None:
    sys_, dia = Latest(131.0, frozenset(), NOW), Latest(84.0, frozenset(), NOW)
    view = blood_pressure_view(sys_, dia, None, NOW + 10_000_000)
    assert (view.value, view.detail, view.stale) == ("131/84", f"({DASHES})", False)
    assert view.note.endswith("just now")


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(st.none(), st.just(float("nan")), st.floats(0, 300)),
    flags=st.frozensets(st.sampled_from(["sensor_off", "invalid", "artifact", "searching"])),
    age_s=st.floats(0, 10_000),
)
def test_a_missing_or_untrustworthy_value_is_never_shown_as_a_number(
    value: float | None, flags: frozenset[str], age_s: float
) -> None:
    view = numeric_view(Latest(value, flags, NOW - int(age_s * 1e6)), NOW)
    untrusted = value is None or value != value or flags & {"sensor_off", "invalid"}
    assert (view.value == DASHES) == bool(untrusted)
    assert view.stale == (age_s > 5.0)
    assert view.note


def test_a_cuff_idle_between_measurements_is_connected_not_silent() -> None:
    from kapmonitor.devices.base import LinkStats
    from kapmonitor.devices.links.transport import DeviceStatus, LinkState
    from kapmonitor.ui.live.device_strip import badge_view

    now = 1_000_000_000_000
    idle_cuff = DeviceStatus(
        "cuff@x",
        "suntech-advantage",
        "x",
        LinkState.CONNECTED,
        LinkStats(),
        now - 120_000_000,
        quiet_between_requests=True,
    )
    silent_oximeter = DeviceStatus("ox@y", "nonin-df7", "y", LinkState.CONNECTED, LinkStats(), now - 120_000_000)
    idle_cuff = replace(idle_cuff, stats=LinkStats(frames_ok=3))
    silent_oximeter = replace(silent_oximeter, stats=LinkStats(frames_ok=300))
    assert badge_view(idle_cuff, now).state == "Connected"
    assert badge_view(idle_cuff, now).detail.endswith("last data 2 min ago")
    assert (badge_view(silent_oximeter, now).state, badge_view(silent_oximeter, now).tone) == (
        "No data for 120 s",
        "warning",
    )


def test_a_link_is_connected_waiting_for_data_until_its_first_valid_frame() -> None:
    from kapmonitor.devices.base import LinkStats
    from kapmonitor.devices.links.transport import DeviceStatus, LinkState
    from kapmonitor.ui.live.device_strip import badge_view

    now = 1_000_000_000_000
    cuff = DeviceStatus(
        "suntech-advantage@/dev/ttyUSB1",
        "suntech-advantage",
        "/dev/ttyUSB1",
        LinkState.CONNECTED,
        LinkStats(),
        None,
        quiet_between_requests=True,
    )
    view = badge_view(cuff, now)
    assert (view.name, view.state, view.tone) == (
        "SunTech Advantage (ttyUSB1)",
        "Connected, waiting for data",
        "warning",
    )
    assert view.detail == "0 frames  \u00b7  no errors  \u00b7  no data yet"
    garbled = replace(cuff, stats=LinkStats(checksum_errors=2, resyncs=1), last_data_us=now)  # errors, no frame
    assert badge_view(garbled, now).state == "Connected, waiting for data"
    assert "2 checksum errors, 1 resync" in badge_view(garbled, now).detail
    measured = replace(cuff, stats=LinkStats(frames_ok=1, resyncs=1), last_data_us=now - 3_000_000)
    assert (badge_view(measured, now).state, badge_view(measured, now).tone) == ("Connected", "ok")
    assert badge_view(measured, now).detail == "1 frame  \u00b7  1 resync  \u00b7  data 3 s ago"

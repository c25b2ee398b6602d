"""A device link's state in words, said the same way by the bed's device strip and the technician's Devices
window: connected but waiting for its first valid frame, how old its data is, and which errors it counted."""

from __future__ import annotations

from dataclasses import dataclass

from kapmonitor.devices.base import LinkStats
from kapmonitor.devices.links.transport import DeviceStatus, LinkState

DATA_LATE_S = 5.0  # a connected device that has sent nothing for this long is shown as silent


@dataclass(frozen=True)
class LinkWords:
    state: str  # "connected", "connected, waiting for data", "no data for 12 s", "reconnecting", ...
    tone: str  # "ok", "warning", "fault" or "muted": which Theme colour the state takes


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def age_words(age_s: float) -> str:
    """How long ago the last valid data came: "data now", "data 12 s ago", "last data 3 min ago"."""
    if age_s < 1:
        return "data now"
    if age_s < 60:
        return f"data {age_s:.0f} s ago"
    if age_s < 3600:
        return f"last data {age_s // 60:.0f} min ago"
    return f"last data {age_s // 3600:.0f} h ago"


def error_words(stats: LinkStats) -> str:
    """Which errors the decoder counted, each by name: "no errors", "2 checksum errors, 1 resync"."""
    parts = []
    if stats.checksum_errors:
        parts.append(plural(stats.checksum_errors, "checksum error"))
    if stats.resyncs:
        parts.append(plural(stats.resyncs, "resync"))
    return ", ".join(parts) or "no errors"


def link_words(status: DeviceStatus, now_us: int) -> LinkWords:
    """What is true of the link now. Connected is not receiving: until its first valid frame a link is
    "connected, waiting for data"; a streaming device silent past ``DATA_LATE_S`` says for how long."""
    state = status.state
    if state is LinkState.CONNECTED:
        if status.last_data_us is None or status.stats.frames_ok == 0:
            return LinkWords("connected, waiting for data", "warning")
        age_s = max(0.0, (now_us - status.last_data_us) / 1e6)
        if not status.quiet_between_requests and age_s > DATA_LATE_S:
            return LinkWords(f"no data for {age_s:.0f} s", "warning")
        return LinkWords("connected", "ok")
    tone = {
        LinkState.CONNECTING: "warning",
        LinkState.RECONNECTING: "warning",
        LinkState.FAILED: "fault",
    }.get(state, "muted")
    return LinkWords(state.value, tone)


def data_words(status: DeviceStatus, now_us: int) -> str:
    """The link's counts and data age in one line: "1200 frames · no errors · data now"."""
    if status.last_data_us is None or status.stats.frames_ok == 0:  # a link event is not data
        age = "no data yet"
    else:
        age = age_words(max(0.0, (now_us - status.last_data_us) / 1e6))
    return f"{plural(status.stats.frames_ok, 'frame')}  \u00b7  {error_words(status.stats)}  \u00b7  {age}"

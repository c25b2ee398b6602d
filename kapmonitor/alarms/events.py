"""What the alarm engine tells the world: events (one log row each) and the alarms shown right now.

Both are frozen: the engine runs on the hub thread, the alarm bar and the alarm log read them on others.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, TypeAlias

from kapmonitor.core.clock import US_PER_S

Priority: TypeAlias = Literal["high", "medium", "low"]
State: TypeAlias = Literal["active", "acknowledged", "paused", "cleared", "latched"]
Kind: TypeAlias = Literal["physiological", "technical"]

PRIORITIES: tuple[Priority, ...] = ("high", "medium", "low")
STATES: tuple[State, ...] = ("active", "acknowledged", "paused", "cleared", "latched")
PRIORITY_RANK: dict[str, int] = {"high": 0, "medium": 1, "low": 2}

# Technical alarms: something is wrong with the monitoring, not (known to be) with the patient.
NO_DATA = "no_data"
SENSOR_OFF = "sensor_off"
DEVICE_DISCONNECTED = "device_disconnected"
NIBP_FAILED = "nibp_failed"
LOW_BATTERY = "low_battery"
RECORDING_FAILED = "recording_failed"
NO_ALARM_SOUND = "no_alarm_sound"  # this computer cannot play the alarm tones: reported once, by the window
TECHNICAL_ALARMS: tuple[str, ...] = (
    NO_DATA,
    SENSOR_OFF,
    DEVICE_DISCONNECTED,
    NIBP_FAILED,
    LOW_BATTERY,
    RECORDING_FAILED,
    NO_ALARM_SOUND,
)
# Not an alarm: the log row that records who silenced the audio, and when the silence ended.
AUDIO_PAUSED = "audio_paused"


def alarm_id_of(alarm: str, device: str, metric: str) -> str:
    """One alarm condition on one device's metric; acknowledging refers to it by this id."""
    return f"{alarm}|{device}|{metric}"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One change of one alarm, as the alarm log stores it and the alarm bar announces it.

    ``value`` is the reading that caused the change (``None`` for most technical alarms); ``limit`` is the
    threshold it crossed; ``user`` is who acknowledged or paused (empty for changes the engine made itself).
    """

    t_us: int
    alarm: str
    priority: Priority
    state: State
    kind: Kind
    device: str = ""
    metric: str = ""
    value: float | None = None
    limit: float | None = None
    message: str = ""
    user: str = ""

    @property
    def alarm_id(self) -> str:
        return alarm_id_of(self.alarm, self.device, self.metric)

    def to_json(self, origin_us: int = 0) -> dict[str, object]:
        """The replay command's line: ``t`` in seconds since ``origin_us`` first, the details after."""
        out: dict[str, object] = {
            "t": round((self.t_us - origin_us) / US_PER_S, 3),
            "alarm": self.alarm,
            "priority": self.priority,
            "state": self.state,
            "kind": self.kind,
        }
        for key in ("device", "metric", "value", "limit", "message", "user"):
            field_value = getattr(self, key)
            if field_value not in (None, ""):
                out[key] = field_value
        return out

    def to_row(self) -> dict[str, object]:
        """Every field plus the alarm id, as one row of the alarm log table."""
        row = asdict(self)
        row["alarm_id"] = self.alarm_id
        return row


@dataclass(frozen=True, slots=True)
class AlarmState:
    """An alarm on the bar now: active, acknowledged (condition still present) or latched (condition gone)."""

    alarm_id: str
    alarm: str
    priority: Priority
    state: State
    kind: Kind
    device: str
    metric: str
    since_us: int
    value: float | None
    limit: float | None
    message: str
    audible: bool  # false once acknowledged or while the audio is paused

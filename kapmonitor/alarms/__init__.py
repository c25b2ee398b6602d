"""The alarm engine: limits, priorities, delays, latching and technical alarms. No Qt.

Start reading at ``engine.py`` (:class:`AlarmEngine`), then ``limits.py`` (:class:`LimitProfile`) and the
profile files in ``resources/alarm_profiles/``.
"""

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AlarmEvent, AlarmState
from kapmonitor.alarms.limits import AlarmLimit, LimitOverride, LimitProfile, ProfileError

__all__ = [
    "AlarmEngine",
    "AlarmEvent",
    "AlarmLimit",
    "AlarmState",
    "LimitOverride",
    "LimitProfile",
    "ProfileError",
]

"""Alarm limits: the thresholds a clinic sets, and every change a nurse makes to them during a session.

A :class:`LimitProfile` comes from a data file in ``resources/alarm_profiles/`` (``profile_file.py`` reads
it: ``builtin_profile``, ``load_profile``). It is immutable: a per-session override or a baseline returns a
new profile whose ``overrides`` list says who changed what, and when.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from kapmonitor.alarms.events import NO_ALARM_SOUND, PRIORITIES, Priority

Side = Literal["low", "high"]
SIDES: tuple[Side, ...] = ("low", "high")

# Fields a nurse may change on a limit during a session.
CHANGEABLE = ("low", "high", "low_priority", "high_priority", "delay_s", "latching")


class ProfileError(ValueError):
    """A profile file or a limit change that cannot be used; the message says what and where."""


@dataclass(frozen=True, slots=True)
class AlarmLimit:
    """Low and high thresholds for one metric. A value strictly beyond a threshold is a breach.

    ``name`` renames the alarm: the desaturation limit is an ``spo2`` limit named ``spo2_desat``; unnamed
    limits raise ``<metric>_low`` / ``<metric>_high``. ``delay_s`` is how long a breach must last before it
    alarms (0 for NIBP: a new measurement alarms at once). ``latching`` keeps the alarm shown after the value
    recovers, until someone acknowledges it.
    """

    metric: str
    low: float | None = None
    high: float | None = None
    low_priority: Priority = "medium"
    high_priority: Priority = "medium"
    delay_s: float = 0.0
    latching: bool = False
    name: str = ""

    @property
    def key(self) -> str:
        """How a profile, an override and the profile file refer to this limit."""
        return self.name or self.metric

    def alarm(self, side: Side) -> str:
        return self.name or f"{self.metric}_{side}"

    def threshold(self, side: Side) -> float | None:
        return self.low if side == "low" else self.high

    def priority(self, side: Side) -> Priority:
        return self.low_priority if side == "low" else self.high_priority

    def breached(self, side: Side, value: float) -> bool:
        threshold = self.threshold(side)
        if threshold is None:
            return False
        return value < threshold if side == "low" else value > threshold

    def check(self) -> list[str]:
        """What is wrong with this limit, in words (empty when it is usable)."""
        problems = []
        for side in SIDES:
            threshold = self.threshold(side)
            if threshold is not None and not (_is_number(threshold) and math.isfinite(threshold)):
                problems.append(f"{side} must be a finite number, got {threshold!r}")
            if self.priority(side) not in PRIORITIES:
                problems.append(
                    f"{side}_priority must be one of {', '.join(PRIORITIES)}, got {self.priority(side)!r}"
                )
        if _is_number(self.low) and _is_number(self.high) and not self.low < self.high:  # type: ignore[operator]
            problems.append(f"low ({self.low:g}) must be below high ({self.high:g})")
        if not (_is_number(self.delay_s) and 0 <= self.delay_s <= 600):
            problems.append(f"delay_s must be between 0 and 600 seconds, got {self.delay_s!r}")
        if not isinstance(self.latching, bool):
            problems.append(f"latching must be true or false, got {self.latching!r}")
        return problems


@dataclass(frozen=True, slots=True)
class BaselineRule:
    """A limit relative to the patient's own baseline (Mindray "auto limits"): baseline x factor + offset."""

    metric: str
    side: Side
    factor: float
    offset: float

    def limit_for(self, baseline: float) -> float:
        return round(baseline * self.factor + self.offset)


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """One change to one limit during a session: who, when, why, and the limit before and after."""

    t_us: int
    user: str
    key: str
    before: AlarmLimit
    after: AlarmLimit
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LimitProfile:
    """A clinic's alarm settings: limits, technical-alarm priorities, data-age timeouts, baseline rules."""

    name: str
    title: str
    limits: tuple[AlarmLimit, ...]
    technical: Mapping[str, Priority] = field(default_factory=dict)
    no_data_s: Mapping[str, float] = field(default_factory=dict)  # metric -> seconds without a valid value
    latch_high: bool = False  # clinic setting: every high-priority physiological alarm latches
    baseline_rules: tuple[BaselineRule, ...] = ()
    baseline_auto: bool = False  # take the session's first NIBP measurement as the baseline
    overrides: tuple[LimitOverride, ...] = ()

    def limits_for(self, metric: str) -> tuple[AlarmLimit, ...]:
        return tuple(limit for limit in self.limits if limit.metric == metric)

    def limit(self, key: str) -> AlarmLimit:
        for limit in self.limits:
            if limit.key == key:
                return limit
        raise ProfileError(f"profile {self.name!r} has no limit {key!r} (it has: {', '.join(self.keys())})")

    def keys(self) -> list[str]:
        return [limit.key for limit in self.limits]

    def technical_priority(self, alarm: str) -> Priority:
        # No alarm sound is below every physiological alarm: it never hides one on the bar.
        return self.technical.get(alarm, "low" if alarm == NO_ALARM_SOUND else "medium")

    def should_latch(self, limit: AlarmLimit, side: Side) -> bool:
        return limit.latching or (self.latch_high and limit.priority(side) == "high")

    def override(
        self, key: str, *, user: str, t_us: int, reason: str = "", **changes: object
    ) -> LimitProfile:
        """This profile with one limit changed, and the change recorded."""
        if not user.strip():
            raise ProfileError("a limit change needs the name of the person making it")
        unknown = sorted(set(changes) - set(CHANGEABLE))
        if unknown:
            raise ProfileError(
                f"cannot change {', '.join(unknown)} of a limit (changeable: {', '.join(CHANGEABLE)})"
            )
        before = self.limit(key)
        after = replace(before, **changes)  # type: ignore[arg-type]
        problems = after.check()
        if problems:
            raise ProfileError(f"limit {key!r}: " + "; ".join(problems))
        record = LimitOverride(t_us=t_us, user=user, key=key, before=before, after=after, reason=reason)
        limits = tuple(after if limit.key == key else limit for limit in self.limits)
        return replace(self, limits=limits, overrides=(*self.overrides, record))

    def with_baseline(self, baseline: Mapping[str, float], *, user: str, t_us: int) -> LimitProfile:
        """Limits set from the patient's baseline by the profile's baseline rules; each change is recorded."""
        profile = self
        for metric, value in baseline.items():
            rules = [rule for rule in self.baseline_rules if rule.metric == metric]
            if not rules:
                raise ProfileError(f"profile {self.name!r} has no baseline rule for {metric!r}")
            changes = {rule.side: rule.limit_for(value) for rule in rules}
            unnamed = [limit for limit in profile.limits_for(metric) if not limit.name]
            if not unnamed:
                raise ProfileError(
                    f"profile {self.name!r} has no limit for {metric!r} to set from a baseline"
                )
            reason = f"baseline {value:g}"
            profile = profile.override(unnamed[0].key, user=user, t_us=t_us, reason=reason, **changes)
        return profile


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

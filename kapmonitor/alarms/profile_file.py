"""Reading and checking an alarm profile file (TOML). Every problem is reported with where it is.

```toml
name = "adult"
title = "Adult monitor defaults"
latch_high = false                 # latch every high-priority physiological alarm

[limits.spo2]                      # one table per metric
low = 90                           # a value below 90 is a breach; leave out a side to have no limit there
priority = "medium"                # both sides; or low_priority / high_priority
delay_s = 10                       # the breach must last this long
latching = false

[desaturation]                     # a second, deeper SpO2 limit: alarm "spo2_desat"
below = 85
priority = "high"
delay_s = 10

[no_data]                          # seconds without a valid value before the "no_data" alarm
spo2 = 30

[technical]                        # priority of each technical alarm
sensor_off = "medium"

[baseline]                         # limits relative to the patient's baseline: baseline x factor + offset
auto = false                       # take the session's first NIBP measurement as the baseline
nibp_systolic = { high = { factor = 0.86, offset = 38 } }
```
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, cast

from kapmonitor.alarms.events import PRIORITIES, TECHNICAL_ALARMS, Priority
from kapmonitor.alarms.limits import SIDES, AlarmLimit, BaselineRule, LimitProfile, ProfileError, Side
from kapmonitor.core.metrics import METRICS
from kapmonitor.core.paths import resources_dir

TOP_KEYS = {"name", "title", "latch_high", "limits", "desaturation", "no_data", "technical", "baseline"}
LIMIT_KEYS = {"low", "high", "priority", "low_priority", "high_priority", "delay_s", "latching"}
DESAT_KEYS = {"below", "priority", "delay_s", "latching"}
NUMERIC_METRICS = sorted(name for name, info in METRICS.items() if not info.waveform)


class _Problems:
    """Collects every problem in a file, so one run of the checker shows all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def number(self, where: str, value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(where, f"must be a number, got {value!r}")
            return None
        return float(value)

    def priority(self, where: str, value: object) -> Priority:
        if value not in PRIORITIES:
            self.add(where, f"must be one of {', '.join(PRIORITIES)}, got {value!r}")
            return "medium"
        return value

    def flag(self, where: str, value: object) -> bool:
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, got {value!r}")
            return False
        return value

    def table(self, where: str, value: object, allowed: set[str] | None = None) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(where, f"must be a table, got {value!r}")
            return {}
        if allowed is not None:
            for key in sorted(set(value) - allowed):
                self.add(where, f"unknown key {key!r} (known: {', '.join(sorted(allowed))})")
        return value

    def metric(self, where: str, name: str) -> bool:
        if name not in NUMERIC_METRICS:
            self.add(where, f"unknown metric {name!r} (known: {', '.join(NUMERIC_METRICS)})")
            return False
        return True


def profiles_dir() -> Path:
    return resources_dir() / "alarm_profiles"


def available_profiles() -> list[str]:
    directory = profiles_dir()
    return sorted(p.stem for p in directory.glob("*.toml")) if directory.is_dir() else []


def builtin_profile(name: str) -> LimitProfile:
    """A profile shipped in ``resources/alarm_profiles`` ("adult", "kap-clinic")."""
    path = profiles_dir() / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(available_profiles()) or "none"
        raise ProfileError(f"no alarm profile named {name!r} (available: {known})")
    return load_profile(path)


def load_profile(path: str | Path) -> LimitProfile:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read alarm profile {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"alarm profile {path} is not valid TOML: {exc}") from exc
    return parse_profile(data, source=str(path), default_name=path.stem)


def parse_profile(data: dict[str, Any], *, source: str, default_name: str = "") -> LimitProfile:
    problems = _Problems()
    problems.table("profile", data, TOP_KEYS)
    limits = [
        _limit(problems, f"[limits.{m}]", m, t)
        for m, t in problems.table("[limits]", data.get("limits", {})).items()
    ]
    if "desaturation" in data:
        limits.append(_desaturation(problems, data["desaturation"]))
    profile = LimitProfile(
        name=str(data.get("name", default_name)),
        title=str(data.get("title", data.get("name", default_name))),
        limits=tuple(limit for limit in limits if limit is not None),
        technical=_technical(problems, data.get("technical", {})),
        no_data_s=_no_data(problems, data.get("no_data", {})),
        latch_high=problems.flag("latch_high", data.get("latch_high", False)),
        baseline_rules=_baseline_rules(problems, data.get("baseline", {})),
        baseline_auto=problems.flag("[baseline] auto", data.get("baseline", {}).get("auto", False))
        if isinstance(data.get("baseline", {}), dict)
        else False,
    )
    if not profile.limits and not problems.items:
        problems.add("[limits]", "a profile needs at least one limit")
    if problems.items:
        raise ProfileError(
            f"alarm profile {source} has {len(problems.items)} problem(s):\n  " + "\n  ".join(problems.items)
        )
    return profile


def _limit(problems: _Problems, where: str, metric: str, raw: object) -> AlarmLimit | None:
    table = problems.table(where, raw, LIMIT_KEYS)
    if not problems.metric(where, metric):
        return None
    both = problems.priority(f"{where} priority", table.get("priority", "medium"))
    limit = AlarmLimit(
        metric=metric,
        low=problems.number(f"{where} low", table["low"]) if "low" in table else None,
        high=problems.number(f"{where} high", table["high"]) if "high" in table else None,
        low_priority=problems.priority(f"{where} low_priority", table.get("low_priority", both)),
        high_priority=problems.priority(f"{where} high_priority", table.get("high_priority", both)),
        delay_s=problems.number(f"{where} delay_s", table.get("delay_s", 0)) or 0.0,
        latching=problems.flag(f"{where} latching", table.get("latching", False)),
    )
    if limit.low is None and limit.high is None and not {"low", "high"} & set(table):
        problems.add(where, "needs a low or a high limit (or both)")
    for problem in limit.check():
        problems.add(where, problem)
    return limit


def _desaturation(problems: _Problems, raw: object) -> AlarmLimit | None:
    where = "[desaturation]"
    table = problems.table(where, raw, DESAT_KEYS)
    if "below" not in table:
        problems.add(where, "needs 'below', the SpO2 value under which desaturation alarms")
        return None
    limit = AlarmLimit(
        metric="spo2",
        low=problems.number(f"{where} below", table["below"]),
        low_priority=problems.priority(f"{where} priority", table.get("priority", "high")),
        delay_s=problems.number(f"{where} delay_s", table.get("delay_s", 0)) or 0.0,
        latching=problems.flag(f"{where} latching", table.get("latching", False)),
        name="spo2_desat",
    )
    for problem in limit.check():
        problems.add(where, problem)
    return limit


def _technical(problems: _Problems, raw: object) -> dict[str, Priority]:
    table = problems.table("[technical]", raw, set(TECHNICAL_ALARMS))
    return {alarm: problems.priority(f"[technical] {alarm}", value) for alarm, value in table.items()}


def _no_data(problems: _Problems, raw: object) -> dict[str, float]:
    out: dict[str, float] = {}
    for metric, value in problems.table("[no_data]", raw).items():
        seconds = problems.number(f"[no_data] {metric}", value)
        if not problems.metric("[no_data]", metric) or seconds is None:
            continue
        if seconds <= 0:
            problems.add(f"[no_data] {metric}", f"must be more than 0 seconds, got {seconds:g}")
        out[metric] = seconds
    return out


def _baseline_rules(problems: _Problems, raw: object) -> tuple[BaselineRule, ...]:
    rules: list[BaselineRule] = []
    for metric, sides in problems.table("[baseline]", raw).items():
        if metric == "auto":
            continue
        where = f"[baseline.{metric}]"
        if not problems.metric(where, metric):
            continue
        for side, rule in problems.table(where, sides, set(SIDES)).items():
            rule_table = problems.table(f"{where} {side}", rule, {"factor", "offset"})
            factor = problems.number(f"{where} {side}.factor", rule_table.get("factor"))
            offset = problems.number(f"{where} {side}.offset", rule_table.get("offset", 0))
            if factor is not None and offset is not None:
                rules.append(BaselineRule(metric, cast(Side, side), factor, offset))
    return tuple(rules)

"""The alarm engine: readings and link events in, alarm events out. Pure: no Qt, no I/O, no threads.

The engine's time is the time the items carry (``t_us``), so a replay runs as fast as it is fed and gives the
same alarms at the same item times as the live session did. Time-based rules (a delay running out, no data for
N s, the end of an audio pause) fire when a later item or a :meth:`AlarmEngine.tick` moves time past them, at
the moment they were due.

Every event any method produces is returned by that call and also queued for :meth:`AlarmEngine.drain_events`
(the hub-sink path); a consumer uses one or the other. Alarm events are state changes, so the queue is small.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kapmonitor.alarms import events as ev
from kapmonitor.alarms.events import AlarmEvent, AlarmState, Kind, Priority, State, alarm_id_of
from kapmonitor.alarms.limits import SIDES, AlarmLimit, LimitProfile, ProfileError, Side
from kapmonitor.core.clock import US_PER_S
from kapmonitor.core.metrics import metric_info
from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind, Reading

DISCONNECT_KINDS = frozenset(
    {LinkEventKind.RECONNECTING, LinkEventKind.DISCONNECTED, LinkEventKind.GAP, LinkEventKind.STALE}
)
RECONNECT_KINDS = frozenset({LinkEventKind.CONNECTED, LinkEventKind.RECONNECTED})
# MEASUREMENT_FAILED is what the SunTech decoder and driver say (devices/suntech/).
NIBP_FAILED_KINDS = frozenset({LinkEventKind.NIBP_FAILED, LinkEventKind.MEASUREMENT_FAILED})
NIBP_METRICS = frozenset({"nibp_systolic", "nibp_diastolic", "nibp_mean"})
# A value carrying one of these flags says nothing reliable about the patient (or is an old stored record),
# so it neither raises nor confirms a physiological alarm.
UNTRUSTED_FLAGS = frozenset({"sensor_off", "invalid", "searching", "out_of_track", "stored"})
AUTO_BASELINE_USER = "kapmonitor (first NIBP measurement)"
DEFAULT_PAUSE_S = 120.0


@dataclass
class _Shown:
    """An alarm on the bar (engine-internal, guarded by the engine's lock)."""

    alarm: str
    priority: Priority
    kind: Kind
    device: str
    metric: str
    since_us: int
    value: float | None
    limit: float | None
    message: str
    latching: bool
    acknowledged: bool = False
    present: bool = True  # the condition still holds; False means the alarm is latched
    once: bool = False  # a reported condition: an acknowledgement clears it from the bar


@dataclass
class _Pending:
    """A breach that has not lasted its limit's delay yet."""

    limit: AlarmLimit
    side: Side
    device: str
    since_us: int
    value: float


class AlarmEngine:
    def __init__(self, profile: LimitProfile, *, clock: Callable[[], int] | None = None) -> None:
        self._profile = profile
        self._clock = clock  # for acknowledge/pause without an explicit time; default: the engine's item time
        self._lock = threading.RLock()  # write() runs on the hub thread, acknowledge() on the UI thread
        self._now_us = 0
        self._pending: dict[str, _Pending] = {}
        self._shown: dict[str, _Shown] = {}
        self._last_values: dict[tuple[str, str], float] = {}
        # device -> time of its last trusted value of a metric watched for no-data
        self._last_valid_us: dict[str, int] = {}
        self._no_data_us: dict[str, int] = {}  # device -> its no-data timeout
        self._baseline_taken: set[str] = set()
        # Devices that measure on a cycle (NIBP cuffs): their pulse rate comes every few minutes with the
        # pressure, so it is not watched for no-data; a failed measurement has its own alarm.
        self._spot_devices: set[str] = set()
        self._pause_until_us: int | None = None
        self._outbox: list[AlarmEvent] = []
        self.decode_errors: Counter[str] = Counter()  # per device; counted, not alarmed

    # ---- feeding -------------------------------------------------------------------------------------------

    def process(self, items: Iterable[Item]) -> list[AlarmEvent]:
        with self._lock:
            out: list[AlarmEvent] = []
            for item in items:
                t = max(self._now_us, item.t_us)
                out += self._advance(t)
                if isinstance(item, Reading):
                    out += self._reading(item, t)
                elif isinstance(item, LinkEvent):
                    out += self._link(item, t)
                elif isinstance(item, DecodeError):
                    self.decode_errors[item.device] += 1
            return self._queue(out)

    def write(self, batch: Iterable[Item]) -> None:
        """Hub sink: the events wait in :meth:`drain_events`."""
        self.process(batch)

    def tick(self, now_us: int) -> list[AlarmEvent]:
        """Let time pass without data: delays run out, data goes stale, an audio pause ends."""
        with self._lock:
            return self._queue(self._advance(max(now_us, self._now_us)))

    def drain_events(self) -> list[AlarmEvent]:
        with self._lock:
            out, self._outbox = self._outbox, []
            return out

    # ---- people ------------------------------------------------------------------------------------------

    def acknowledge(self, alarm_id: str, user: str, now_us: int | None = None) -> list[AlarmEvent]:
        """A nurse has seen the alarm: it stops sounding; a latched one (condition gone) clears.

        An id that is no longer shown (it cleared a moment before) gives no event.
        """
        _require_user(user)
        with self._lock:
            t, out = self._time(now_us)
            shown = self._shown.get(alarm_id)
            if shown is None or shown.acknowledged:
                return self._queue(out)
            if shown.present and not shown.once:
                shown.acknowledged = True
                out.append(self._event(shown, "acknowledged", t, user))
            else:
                del self._shown[alarm_id]
                out.append(self._event(shown, "cleared", t, user))
            return self._queue(out)

    def pause_audio(
        self, now_us: int | None = None, seconds: float = DEFAULT_PAUSE_S, user: str = ""
    ) -> list[AlarmEvent]:
        """Silence every alarm for ``seconds`` (typically 2 min); alarms stay on the bar and in the log."""
        if seconds <= 0:
            raise ValueError(f"an audio pause must last more than 0 seconds, got {seconds!r}")
        with self._lock:
            t, out = self._time(now_us)
            self._pause_until_us = t + round(seconds * US_PER_S)
            out.append(
                AlarmEvent(
                    t,
                    ev.AUDIO_PAUSED,
                    "low",
                    "paused",
                    "technical",
                    message=f"audio paused for {seconds:g} s",
                    user=user,
                )
            )
            out += [self._event(s, "paused", t, user) for s in self._shown.values() if not s.acknowledged]
            return self._queue(out)

    def pause_remaining_s(self, now_us: int | None = None) -> float:
        """Seconds left of the audio pause (0 when the audio is on), for the countdown."""
        with self._lock:
            if self._pause_until_us is None:
                return 0.0
            return max(0.0, (self._pause_until_us - self._resolve(now_us)) / US_PER_S)

    def report_condition(
        self, alarm: str, message: str, *, device: str = "", now_us: int | None = None
    ) -> list[AlarmEvent]:
        """A technical condition the data cannot show (this computer plays no alarm sound): on the bar until a
        nurse acknowledges it, then gone; logged like any alarm. Reported again while shown, it is not repeated."""
        with self._lock:
            t, out = self._time(now_us)
            key = alarm_id_of(alarm, device, "")
            if key in self._shown:
                return self._queue(out)
            priority = self._profile.technical_priority(alarm)
            shown = _Shown(alarm, priority, "technical", device, "", t, None, None, message, False, once=True)
            self._shown[key] = shown
            out.append(self._event(shown, "active", t))
            return self._queue(out)

    # ---- limits ------------------------------------------------------------------------------------------

    @property
    def profile(self) -> LimitProfile:
        return self._profile

    def set_profile(self, profile: LimitProfile, now_us: int | None = None) -> list[AlarmEvent]:
        """Use new limits from now on; the latest value of every metric is judged against them at once."""
        with self._lock:
            t, out = self._time(now_us)  # what fell due under the old limits happened under them
            self._profile = profile
            judged: set[str] = set()
            for (device, metric), value in list(self._last_values.items()):
                for key, limit, side in self._keys(device, metric):
                    judged.add(key)
                    pending = self._pending.get(key)
                    if pending is not None:
                        self._pending[key] = _Pending(limit, side, device, pending.since_us, pending.value)
                out += self._evaluate(device, metric, value, t)
            for key in [k for k, s in self._shown.items() if s.kind == "physiological" and k not in judged]:
                out += self._recover(key, t)  # its limit was switched off
            for key in [k for k in self._pending if k not in judged]:
                del self._pending[key]
            return self._queue(out)

    def override_limit(
        self, key: str, *, user: str, now_us: int | None = None, reason: str = "", **changes: object
    ) -> list[AlarmEvent]:
        """Change one limit for this session; the change is recorded in ``profile.overrides``."""
        with self._lock:
            t = self._resolve(now_us)
            return self.set_profile(
                self._profile.override(key, user=user, t_us=t, reason=reason, **changes), t
            )

    def set_baseline(
        self, baseline: Mapping[str, float], *, user: str, now_us: int | None = None
    ) -> list[AlarmEvent]:
        """Limits from the patient's baseline (for example pre-dose BP) by the profile's baseline rules."""
        with self._lock:
            t = self._resolve(now_us)
            profile = self._profile.with_baseline(baseline, user=user, t_us=t)
            self._baseline_taken |= set(baseline)
            return self.set_profile(profile, t)

    # ---- what is shown -----------------------------------------------------------------------------------

    def active(self) -> list[AlarmState]:
        """Alarms on the bar, highest priority first, newest first within a priority."""
        with self._lock:
            paused = self._pause_until_us is not None
            states = [
                AlarmState(
                    alarm_id=key,
                    alarm=s.alarm,
                    priority=s.priority,
                    state=self._state_of(s),
                    kind=s.kind,
                    device=s.device,
                    metric=s.metric,
                    since_us=s.since_us,
                    value=s.value,
                    limit=s.limit,
                    message=s.message,
                    audible=not s.acknowledged and not paused,
                )
                for key, s in self._shown.items()
            ]
            return sorted(states, key=lambda a: (ev.PRIORITY_RANK[a.priority], -a.since_us))

    # ---- time --------------------------------------------------------------------------------------------

    def _resolve(self, now_us: int | None) -> int:
        """When a person acted: as given, by the clock, or the engine time; never before the engine time."""
        t = now_us if now_us is not None else (self._clock() if self._clock else self._now_us)
        return max(t, self._now_us)

    def _time(self, now_us: int | None) -> tuple[int, list[AlarmEvent]]:
        """The time of a person's action with what fell due until then."""
        t = self._resolve(now_us)
        return t, self._advance(t)

    def _advance(self, t: int) -> list[AlarmEvent]:
        due: list[tuple[int, int, str]] = []
        for key, pending in self._pending.items():
            due.append((pending.since_us + round(pending.limit.delay_s * US_PER_S), 0, key))
        for device, last in self._last_valid_us.items():
            due.append((last + self._no_data_us[device], 1, device))
        if self._pause_until_us is not None:
            due.append((self._pause_until_us, 2, ""))
        out: list[AlarmEvent] = []
        for deadline, rule, subject in sorted(d for d in due if d[0] <= t):
            at = max(deadline, self._now_us)
            if rule == 0 and subject in self._pending:
                out += self._activate(subject, at)
            elif rule == 1:
                out += self._no_data(subject, at)
            elif rule == 2:
                out += self._pause_over(at)
        self._now_us = t
        return out

    def _pause_over(self, t: int) -> list[AlarmEvent]:
        self._pause_until_us = None
        out = [AlarmEvent(t, ev.AUDIO_PAUSED, "low", "cleared", "technical", message="audio on again")]
        return out + [
            self._event(s, self._state_of(s), t) for s in self._shown.values() if not s.acknowledged
        ]

    def _no_data(self, device: str, t: int) -> list[AlarmEvent]:
        for cause in (ev.SENSOR_OFF, ev.DEVICE_DISCONNECTED):  # the more specific alarm is already shown
            if alarm_id_of(cause, device, "") in self._shown:
                return []
        seconds = self._no_data_us[device] / US_PER_S
        return self._raise(ev.NO_DATA, device, t, f"{device}: no valid data for {seconds:g} s")

    # ---- items -------------------------------------------------------------------------------------------

    def _reading(self, r: Reading, t: int) -> list[AlarmEvent]:
        out = self._reading_technical(r, t)
        trusted = r.value is not None and not (r.flags & UNTRUSTED_FLAGS)
        if not trusted:
            for key, _limit, _side in self._keys(r.device, r.metric):
                if "sensor_off" in r.flags:
                    out += self._recover(key, t)  # the technical alarm speaks for the sensor now
                self._pending.pop(key, None)  # an unknown value cannot confirm that a breach lasted
            return out
        assert r.value is not None
        if r.metric in NIBP_METRICS and r.device not in self._spot_devices:
            self._spot_devices.add(r.device)
            self._last_valid_us.pop(r.device, None)
            self._no_data_us.pop(r.device, None)
            out += self._clear(ev.NO_DATA, r.device, t)
        watched_s = None if r.device in self._spot_devices else self._profile.no_data_s.get(r.metric)
        if watched_s is not None:
            timeout = round(watched_s * US_PER_S)
            self._no_data_us[r.device] = min(timeout, self._no_data_us.get(r.device, timeout))
            self._last_valid_us[r.device] = t
            out += self._clear(ev.NO_DATA, r.device, t)
        self._take_auto_baseline(r.metric, r.value, t)
        self._last_values[(r.device, r.metric)] = r.value
        return out + self._evaluate(r.device, r.metric, r.value, t)

    def _reading_technical(self, r: Reading, t: int) -> list[AlarmEvent]:
        out = self._clear(ev.DEVICE_DISCONNECTED, r.device, t)
        if "stored" in r.flags:  # an old record from the device's memory says nothing about now
            return self._restart_data_age(r.device, t, out)
        if "sensor_off" in r.flags:
            label = metric_info(r.metric).label
            out += self._raise(ev.SENSOR_OFF, r.device, t, f"{r.device}: sensor off ({label})")
        else:
            out = self._restart_data_age(r.device, t, out + self._clear(ev.SENSOR_OFF, r.device, t))
        if "low_battery" in r.flags:
            out += self._raise(ev.LOW_BATTERY, r.device, t, f"{r.device}: battery low")
        else:
            out += self._clear(ev.LOW_BATTERY, r.device, t)
        if r.metric in NIBP_METRICS and "sensor_off" not in r.flags:
            if r.value is None:
                why = ", ".join(sorted(r.flags)) or "no value"
                message = f"{r.device}: blood pressure measurement failed ({why})"
                out += self._raise(ev.NIBP_FAILED, r.device, t, message)
            else:
                out += self._clear(ev.NIBP_FAILED, r.device, t)
        return out

    def _restart_data_age(self, device: str, t: int, cleared: list[AlarmEvent]) -> list[AlarmEvent]:
        """After a reconnect or a sensor put back on, the data age counts from then, not from before."""
        if cleared and device in self._last_valid_us:
            self._last_valid_us[device] = t
        return cleared

    def _link(self, e: LinkEvent, t: int) -> list[AlarmEvent]:
        detail = f" ({e.detail})" if e.detail else ""
        if e.kind in DISCONNECT_KINDS:
            for key in [k for k, p in self._pending.items() if p.device == e.device]:
                del self._pending[key]  # the breach may have ended while we heard nothing
            return self._raise(ev.DEVICE_DISCONNECTED, e.device, t, f"{e.device}: {e.kind}{detail}")
        if e.kind in RECONNECT_KINDS:
            return self._restart_data_age(e.device, t, self._clear(ev.DEVICE_DISCONNECTED, e.device, t))
        if e.kind is LinkEventKind.RECORDING_FAILED:
            return self._raise(ev.RECORDING_FAILED, e.device, t, f"recording failed{detail}")
        if e.kind is LinkEventKind.RECORDING_RESUMED:
            return self._clear(ev.RECORDING_FAILED, e.device, t)
        if e.kind in NIBP_FAILED_KINDS:
            return self._raise(
                ev.NIBP_FAILED, e.device, t, f"{e.device}: blood pressure measurement failed{detail}"
            )
        return []

    def _take_auto_baseline(self, metric: str, value: float, t: int) -> None:
        if not self._profile.baseline_auto or metric in self._baseline_taken:
            return
        if not any(rule.metric == metric for rule in self._profile.baseline_rules):
            return
        self._baseline_taken.add(metric)
        # An implausible first measurement keeps the clinic's fixed limits, which is the safe side.
        with contextlib.suppress(ProfileError):
            self._profile = self._profile.with_baseline({metric: value}, user=AUTO_BASELINE_USER, t_us=t)

    # ---- physiological rules -----------------------------------------------------------------------------

    def _keys(self, device: str, metric: str) -> list[tuple[str, AlarmLimit, Side]]:
        return [
            (alarm_id_of(limit.alarm(side), device, metric), limit, side)
            for limit in self._profile.limits_for(metric)
            for side in SIDES
            if limit.threshold(side) is not None
        ]

    def _evaluate(self, device: str, metric: str, value: float, t: int) -> list[AlarmEvent]:
        out: list[AlarmEvent] = []
        for key, limit, side in self._keys(device, metric):
            if limit.breached(side, value):
                out += self._breach(key, limit, side, device, value, t)
            else:
                out += self._recover(key, t, value)
        return out

    def _breach(
        self, key: str, limit: AlarmLimit, side: Side, device: str, value: float, t: int
    ) -> list[AlarmEvent]:
        shown = self._shown.get(key)
        if shown is not None:
            shown.value = value
            if shown.present:
                return []
            shown.present, shown.acknowledged = True, False  # a latched alarm whose condition came back
            return [self._event(shown, "active", t)]
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(limit, side, device, t, value)
        pending.value = value
        if t - pending.since_us >= round(limit.delay_s * US_PER_S):
            return self._activate(key, t)
        return []

    def _activate(self, key: str, t: int) -> list[AlarmEvent]:
        p = self._pending.pop(key)
        limit, side = p.limit, p.side
        threshold = limit.threshold(side)
        if threshold is None:
            return []
        info = metric_info(limit.metric)
        words = "below" if side == "low" else "above"
        extra = " (desaturation)" if limit.name == "spo2_desat" else ""
        shown = _Shown(
            alarm=limit.alarm(side),
            priority=limit.priority(side),
            kind="physiological",
            device=p.device,
            metric=limit.metric,
            since_us=t,
            value=p.value,
            limit=threshold,
            message=f"{info.label} {p.value:g} {info.unit} {words} {threshold:g}{extra}".replace("  ", " "),
            latching=self._profile.should_latch(limit, side),
        )
        self._shown[key] = shown
        return [self._event(shown, "active", t)]

    # ---- shared by both kinds ----------------------------------------------------------------------------

    def _recover(self, key: str, t: int, value: float | None = None) -> list[AlarmEvent]:
        self._pending.pop(key, None)
        shown = self._shown.get(key)
        if shown is None or not shown.present:
            return []
        if shown.latching and not shown.acknowledged:
            shown.present = False  # the bar keeps saying what happened until a nurse has seen it
            return [self._event(shown, "latched", t)]
        if value is not None:  # the log row says what the value recovered to
            info = metric_info(shown.metric)
            shown.value, shown.message = value, f"{info.label} back to {value:g} {info.unit}".rstrip()
        del self._shown[key]
        return [self._event(shown, "cleared", t)]

    def _raise(self, alarm: str, device: str, t: int, message: str) -> list[AlarmEvent]:
        key = alarm_id_of(alarm, device, "")
        if key in self._shown:
            return []
        priority = self._profile.technical_priority(alarm)
        shown = _Shown(alarm, priority, "technical", device, "", t, None, None, message, latching=False)
        self._shown[key] = shown
        return [self._event(shown, "active", t)]

    def _clear(self, alarm: str, device: str, t: int) -> list[AlarmEvent]:
        return self._recover(alarm_id_of(alarm, device, ""), t)

    def _state_of(self, shown: _Shown) -> State:
        if not shown.present:
            return "latched"
        if shown.acknowledged:
            return "acknowledged"
        return "paused" if self._pause_until_us is not None else "active"

    def _event(self, s: _Shown, state: State, t: int, user: str = "") -> AlarmEvent:
        return AlarmEvent(
            t, s.alarm, s.priority, state, s.kind, s.device, s.metric, s.value, s.limit, s.message, user
        )

    def _queue(self, out: list[AlarmEvent]) -> list[AlarmEvent]:
        self._outbox.extend(out)
        return out


def _require_user(user: str) -> None:
    if not user.strip():
        raise ValueError("acknowledging an alarm needs the name of the person who saw it")

"""The alarm-limits screen (View > Alarm limits…): every limit of the active profile, changed for this session
with a reason, the profile switched, blood-pressure limits set from the patient's baseline, and the session's
overrides listed with who, when and why.

Every change goes through the station (``change_alarm_limit`` / ``set_alarm_profile``), which applies it to the
engine and writes it to the audit trail. Who may do what comes from ``kapmonitor.core.access.PERMISSIONS``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.events import PRIORITIES
from kapmonitor.alarms.limits import (
    CHANGEABLE,
    SIDES,
    AlarmLimit,
    LimitOverride,
    LimitProfile,
    ProfileError,
)
from kapmonitor.alarms.profile_file import available_profiles, builtin_profile
from kapmonitor.bed.port import BedPort
from kapmonitor.core.access import User, require
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.errors import UserError
from kapmonitor.core.metrics import metric_info
from kapmonitor.ui.screen_size import open_fitting
from kapmonitor.ui.theme import DARK, Theme, stylesheet
from kapmonitor.ui.widgets.refusal import refusal_tip

SESSION_LIMITS = "alarm.session_limits"
PROFILE_EDIT = "alarm_profile.edit"
OFF = "off"
# What a spin box may hold per metric: a monitor's own ranges, wide enough for any clinic's choice.
RANGES: dict[str, tuple[int, int]] = {
    "spo2": (0, 100),
    "pulse_rate": (20, 250),
    "heart_rate": (20, 250),
    "nibp_systolic": (40, 260),
    "nibp_diastolic": (20, 200),
    "nibp_mean": (30, 220),
}
DEFAULT_RANGE = (0, 300)
BASELINE_METRICS = ("nibp_systolic", "nibp_diastolic", "nibp_mean")
TYPICAL_BASELINE = {"nibp_systolic": 120, "nibp_diastolic": 80, "nibp_mean": 93}


def dialog_style(theme: Theme) -> str:
    """Larger type than the window chrome (read at arm's length), and the overrides table in the theme."""
    return f"""
    QDialog {{ background: {theme.background}; }}
    QDialog QWidget {{ font-size: 16px; }}
    QLabel#profileTitle {{ font-size: 20px; font-weight: bold; }}
    QTableWidget {{ background: {theme.panel}; color: {theme.text}; gridline-color: {theme.border};
        border: 1px solid {theme.border}; }}
    QHeaderView::section {{ background: {theme.border}; color: {theme.text}; padding: 4px; border: none; }}
    QCheckBox::indicator {{ width: 20px; height: 20px; border: 2px solid {theme.muted}; border-radius: 3px;
        background: {theme.background}; }}
    QCheckBox::indicator:checked {{ background: {theme.spo2}; }}
    """


def limit_title(limit: AlarmLimit) -> str:
    if limit.name == "spo2_desat":
        return "SpO\u2082 desaturation"
    info = metric_info(limit.metric)
    return f"{info.label} ({info.unit})"


def shown(value: float | None) -> str:
    return OFF if value is None else f"{value:g}"


def problems_in_words(metric: str, low: float | None, high: float | None) -> list[str]:
    """What is wrong with a low/high pair as the nurse typed it (empty when usable); ``None`` is "off"."""
    title = metric_info(metric).label
    problems = []
    if metric == "spo2":
        for side, value in (("low", low), ("high", high)):
            if value is not None and not 0 <= value <= 100:
                problems.append(f"{title}: the {side} limit must be between 0 and 100 %, not {value:g}")
    if low is not None and high is not None and not low < high:
        problems.append(f"{title}: the low limit ({low:g}) must be below the high limit ({high:g})")
    return problems


def change_words(override: LimitOverride) -> str:
    """"high 180 → 170", one part per changed field."""
    parts = []
    for name in CHANGEABLE:
        before, after = getattr(override.before, name), getattr(override.after, name)
        if before != after:
            text = {bool: lambda v: "on" if v else "off"}.get(type(before), shown_any)
            parts.append(f"{name.replace('_', ' ')} {text(before)} \u2192 {text(after)}")
    return ", ".join(parts) or "no change"


def shown_any(value: object) -> str:
    return shown(value) if value is None or isinstance(value, int | float) else str(value)


@dataclass
class LimitRow:
    """The editors of one limit. A threshold spin box at its minimum reads "off" (no limit on that side)."""

    limit: AlarmLimit
    thresholds: dict[str, QSpinBox]
    priorities: dict[str, QComboBox]
    delay: QSpinBox
    latching: QCheckBox

    def threshold(self, side: str) -> float | None:
        box = self.thresholds.get(side)
        if box is None or box.value() == box.minimum():
            return None
        return float(box.value())

    def set_threshold(self, side: str, value: float | None) -> None:
        box = self.thresholds[side]
        box.setValue(box.minimum() if value is None else round(value))

    def changes(self) -> dict[str, object]:
        """The fields that differ from the limit in force."""
        now: dict[str, object] = {side: self.threshold(side) for side in SIDES if side in self.thresholds}
        now |= {f"{side}_priority": box.currentText() for side, box in self.priorities.items()}
        now |= {"delay_s": float(self.delay.value()), "latching": self.latching.isChecked()}
        return {name: value for name, value in now.items() if getattr(self.limit, name) != value}

    def editors(self) -> list[QWidget]:
        return [*self.thresholds.values(), *self.priorities.values(), self.delay, self.latching]


class AlarmLimitsDialog(QDialog):
    COLUMNS = ("Alarm", "Low", "Low priority", "High", "High priority", "Delay", "Latching")
    OVERRIDE_COLUMNS = ("Time", "By", "Limit", "Change", "Why")

    def __init__(
        self,
        station: BedPort,
        user: User | None,
        *,
        theme: Theme = DARK,
        clock: Callable[[], int] = now_us,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.station, self.user, self.clock = station, user, clock
        self.author = user.username if user is not None else getpass.getuser()
        self.setWindowTitle("Alarm limits")
        self.setStyleSheet(stylesheet(theme) + dialog_style(theme))
        open_fitting(self, (1100, 780))  # as large as this, never larger than the screen
        self.profile_label = QLabel()
        self.profile_label.setObjectName("profileTitle")
        self.profile_choice = QComboBox()
        self.profile_choice.addItems(available_profiles())
        self.switch_button = QPushButton("Switch profile")
        self.switch_button.clicked.connect(self.switch_profile)
        self.grid = QGridLayout()
        self.rows: dict[str, LimitRow] = {}
        self.baseline_box = QCheckBox("Use baseline-relative blood-pressure limits (from the pre-dose reading)")
        self.baseline_box.toggled.connect(self._baseline_changed)
        self.baseline_spins: dict[str, QSpinBox] = {}
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why (required): e.g. baseline hypertensive, per Dr Lee")
        self.apply_button = QPushButton("Apply")
        self.apply_button.clicked.connect(self.apply)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.refusal = QLabel()
        self.refusal.setWordWrap(True)
        self.overrides = QTableWidget(0, len(self.OVERRIDE_COLUMNS))
        self.overrides.setHorizontalHeaderLabels(self.OVERRIDE_COLUMNS)
        self.overrides.verticalHeader().hide()
        self.overrides.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for column in (2, 3):
            self.overrides.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.overrides.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self._theme = theme
        self._layout()
        self.load()

    # ---- building ------------------------------------------------------------------------------------------

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.profile_label, 1)
        top.addWidget(QLabel("Profile:"))
        top.addWidget(self.profile_choice)
        top.addWidget(self.switch_button)
        baseline = QHBoxLayout()
        baseline.addWidget(self.baseline_box)
        for metric in BASELINE_METRICS:
            spin = QSpinBox()
            spin.setRange(*RANGES[metric])
            spin.setSuffix(" mmHg")
            spin.valueChanged.connect(self._baseline_changed)
            self.baseline_spins[metric] = spin
            baseline.addWidget(QLabel(metric_info(metric).label))
            baseline.addWidget(spin)
        baseline.addStretch(1)
        apply = QHBoxLayout()
        apply.addWidget(QLabel("Reason:"))
        apply.addWidget(self.reason, 1)
        apply.addWidget(self.apply_button)
        page = QVBoxLayout(self)
        page.addLayout(top)
        page.addWidget(self.refusal)
        page.addLayout(self.grid)
        page.addLayout(baseline)
        page.addLayout(apply)
        page.addWidget(self.message)
        page.addWidget(QLabel("Changes this session"))
        page.addWidget(self.overrides, 1)

    def load(self) -> None:
        """Show the limits in force now (after a change, a profile switch, or on opening)."""
        profile: LimitProfile = self.station.alarm_engine.profile
        self.profile_label.setText(f"Profile: {profile.title} ({profile.name})")
        self.profile_choice.setCurrentText(profile.name)
        self._clear_grid()
        for column, title in enumerate(self.COLUMNS):
            header = QLabel(title)
            header.setObjectName("muted")
            self.grid.addWidget(header, 0, column)
        self.rows = {}
        for r, limit in enumerate(profile.limits, start=1):
            self.rows[limit.key] = self._row(r, limit)
        rules = {rule.metric for rule in profile.baseline_rules}
        self.baseline_box.setEnabled(bool(rules))
        self.baseline_box.setChecked(False)
        for metric, spin in self.baseline_spins.items():
            spin.setValue(round(self._latest(metric) or TYPICAL_BASELINE[metric]))
        self._show_overrides(profile.overrides)
        self._apply_permissions()

    def _clear_grid(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()  # until Qt deletes it, a taken widget would still paint where it was
                widget.deleteLater()

    def _row(self, r: int, limit: AlarmLimit) -> LimitRow:
        self.grid.addWidget(QLabel(limit_title(limit)), r, 0)
        lo, hi = RANGES.get(limit.metric, DEFAULT_RANGE)
        thresholds: dict[str, QSpinBox] = {}
        priorities: dict[str, QComboBox] = {}
        # The desaturation limit is a second, deeper low limit: it has no high side.
        sides = ("low",) if limit.name == "spo2_desat" else SIDES
        for side, column in (("low", 1), ("high", 3)):
            if side not in sides:
                self.grid.addWidget(QLabel("\u2014"), r, column)
                continue
            spin = QSpinBox()
            spin.setRange(lo - 1, hi)  # one below the range is the "off" position
            spin.setSpecialValueText(OFF)
            spin.setAccessibleName(f"{limit.key} {side}")
            priority = QComboBox()
            priority.addItems(PRIORITIES)
            priority.setCurrentText(limit.priority(side))
            thresholds[side], priorities[side] = spin, priority
            self.grid.addWidget(spin, r, column)
            self.grid.addWidget(priority, r, column + 1)
        delay = QSpinBox()
        delay.setRange(0, 600)
        delay.setSuffix(" s")
        delay.setValue(round(limit.delay_s))
        latching = QCheckBox()
        latching.setChecked(limit.latching)
        self.grid.addWidget(delay, r, 5)
        self.grid.addWidget(latching, r, 6)
        row = LimitRow(limit, thresholds, priorities, delay, latching)
        for side in thresholds:
            row.set_threshold(side, limit.threshold(side))  # type: ignore[arg-type]
        return row

    def _latest(self, metric: str) -> float | None:
        buffers = self.station.buffers
        keys = [key for key in buffers.tracks() if key[1] == metric]
        latest = buffers.latest(keys[-1]) if keys else None
        return None if latest is None else latest.value

    def _show_overrides(self, overrides: tuple[LimitOverride, ...]) -> None:
        self.overrides.setRowCount(0)
        for o in reversed(overrides):  # newest first
            row = self.overrides.rowCount()
            self.overrides.insertRow(row)
            when = datetime.fromtimestamp(o.t_us / US_PER_S).strftime("%H:%M:%S")
            for column, text in enumerate((when, o.user, o.key, change_words(o), o.reason)):
                self.overrides.setItem(row, column, QTableWidgetItem(text))

    # ---- permissions ---------------------------------------------------------------------------------------

    def may(self, permission: str) -> bool:
        return self.user is None or self.user.may(permission)  # no logins: a station without users

    def _apply_permissions(self) -> None:
        editable = self.may(SESSION_LIMITS)
        for row in self.rows.values():
            for editor in row.editors():
                editor.setEnabled(editable)
        for widget in (self.reason, self.apply_button, self.baseline_box, *self.baseline_spins.values()):
            widget.setEnabled(editable and widget.isEnabled() if widget is self.baseline_box else editable)
        may_switch = self.may(PROFILE_EDIT)
        self.profile_choice.setEnabled(may_switch)
        self.switch_button.setEnabled(may_switch)
        why = []
        if self.user is not None and not editable:
            why.append(refusal_tip(self.user, SESSION_LIMITS, "change alarm limits") + " This screen is read-only.")
        if self.user is not None and not may_switch:
            why.append(refusal_tip(self.user, PROFILE_EDIT, "switch the alarm profile"))
        self.refusal.setText(" ".join(why))
        self.refusal.setVisible(bool(why))
        self._baseline_changed()

    # ---- baseline ------------------------------------------------------------------------------------------

    def _baseline_changed(self) -> None:
        """With the option on, the blood-pressure limits follow the baseline by the profile's rules."""
        on = self.baseline_box.isChecked()
        profile: LimitProfile = self.station.alarm_engine.profile
        for metric in BASELINE_METRICS:
            rules = [rule for rule in profile.baseline_rules if rule.metric == metric]
            row = next((r for r in self.rows.values() if r.limit.metric == metric and not r.limit.name), None)
            if row is None or not rules:
                continue
            for rule in rules:
                if rule.side not in row.thresholds:
                    continue
                box = row.thresholds[rule.side]
                if on:
                    row.set_threshold(rule.side, rule.limit_for(self.baseline_spins[metric].value()))
                else:
                    row.set_threshold(rule.side, row.limit.threshold(rule.side))
                box.setEnabled(not on and self.may(SESSION_LIMITS))

    def _baseline_reason(self, key: str) -> str:
        limit = self.station.alarm_engine.profile.limit(key)
        if not self.baseline_box.isChecked() or limit.metric not in self.baseline_spins or limit.name:
            return ""
        return f"baseline {self.baseline_spins[limit.metric].value()} mmHg; "

    # ---- actions -------------------------------------------------------------------------------------------

    def apply(self) -> bool:
        """Apply every changed limit, each audited; refused with a message (and nothing changed) when a value
        or the reason is missing or wrong."""
        changed = {key: row.changes() for key, row in self.rows.items()}
        changed = {key: changes for key, changes in changed.items() if changes}
        problems = [
            p
            for row in self.rows.values()
            if row.limit.key in changed
            for p in problems_in_words(row.limit.metric, row.threshold("low"), row.threshold("high"))
        ]
        if self.user is not None:
            try:
                require(self.user, SESSION_LIMITS)
            except UserError as error:
                problems.append(str(error))
        if not changed and not problems:
            problems.append("Nothing to apply: no limit differs from the one in force.")
        if changed and not self.reason.text().strip():
            problems.append("Say why the limits change (the reason is kept with the change).")
        if problems:
            return self._say(" ".join(problems), ok=False)
        profile: LimitProfile = self.station.alarm_engine.profile
        try:  # every change checked before the first is applied, so a bad row changes nothing
            for key, changes in changed.items():
                _check(key, profile.limit(key), changes)
        except ProfileError as error:
            return self._say(str(error), ok=False)
        reason = self.reason.text().strip()
        for key, changes in changed.items():
            self.station.change_alarm_limit(
                key,
                reason=self._baseline_reason(key) + reason,
                user=self.author,
                now_us=self.clock(),  # passed through to AlarmEngine.override_limit: when the nurse acted
                **changes,
            )
        self.reason.clear()
        self.load()
        return self._say(f"Applied {len(changed)} change(s) for this session.", ok=True)

    def switch_profile(self) -> bool:
        name = self.profile_choice.currentText()
        if self.user is not None:
            try:
                require(self.user, PROFILE_EDIT)
            except UserError as error:
                return self._say(str(error), ok=False)
        if name == self.station.alarm_engine.profile.name:
            return self._say(f"The {name} profile is already in force.", ok=False)
        try:
            profile = builtin_profile(name)
        except ProfileError as error:
            return self._say(str(error), ok=False)
        self.station.set_alarm_profile(profile, user=self.author)
        self.load()
        note = "earlier changes this session no longer apply"
        return self._say(f"Now using the {profile.title} profile; {note}.", ok=True)

    def _say(self, text: str, *, ok: bool) -> bool:
        self.message.setText(text)
        colour = self._theme.ok if ok else self._theme.fault
        self.message.setStyleSheet(f"color: {colour}; font-weight: bold;")
        return ok


def _check(key: str, before: AlarmLimit, changes: dict[str, object]) -> None:
    after = replace(before, **changes)  # type: ignore[arg-type]
    problems = after.check()
    if problems:
        raise ProfileError(f"limit {key!r}: " + "; ".join(problems))

"""The review's side panels: what the cursors read, the statistics of the range in view, and sign-off.

The panels only show what ``kapmonitor.export.analysis`` computes; the review window tells them when the
cursors or the range moved.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.analysis import Series, peak, range_stats, time_below, value_at
from kapmonitor.session.entries import Addendum, SignOff
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.review.names import track_labels

SPO2_THRESHOLD = 90.0
NO_VALUE = "\u2014"
ROW_PX = 26


def clock_seconds(t_us: int) -> str:
    """A UTC instant as the room's local wall-clock time, to the second."""
    return datetime.fromtimestamp(t_us / US_PER_S).astimezone().strftime("%H:%M:%S")


def duration_text(seconds: float) -> str:
    sign, seconds = ("-" if seconds < 0 else ""), abs(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    return f"{sign}{minutes} min {secs:02d} s" if minutes else f"{sign}{secs} s"


def measured_text(seconds: float) -> str:
    """How long a track was measured: to the minute past ten minutes (the seconds only crowd the column)."""
    if seconds < 600:
        return duration_text(seconds)
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def number(value: float | None, decimals: int = 0) -> str:
    return NO_VALUE if value is None else f"{value:.{decimals}f}"


# The pleth is a waveform in relative units: no value of it means anything at a cursor or over a range. The
# cuff's inflation pressure is how the cuff measures, not a blood pressure: its range would read as one.
NOT_READ_AT_CURSORS = frozenset({"pleth"})
NOT_IN_STATISTICS = frozenset({"pleth", "cuff_pressure"})


def _table(columns: list[str], rows: int) -> QTableWidget:
    table = QTableWidget(rows, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    # The numbers take the room they need; the track names the rest (a long one wraps under its metric).
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.verticalHeader().setDefaultSectionSize(ROW_PX)
    table.setFixedHeight(ROW_PX * rows + 30)  # every track visible: no scrolling inside the panel
    return table


def _name_rows(table: QTableWidget, series: list[Series], labels: dict[Series, str]) -> None:
    """The first column's track names, and rows as tall as their text (a track named with its device takes
    two lines), the table as tall as its rows."""
    for row, s in enumerate(series):
        table.setItem(row, 0, QTableWidgetItem(labels[s]))
    fit_rows(table)


def fit_rows(table: QTableWidget) -> None:
    """Rows as tall as their text in the table's current font (call again once a style sheet changed it)."""
    table.ensurePolished()
    table.resizeRowsToContents()
    rows = sum(max(table.rowHeight(r), ROW_PX) for r in range(table.rowCount()))
    for row in range(table.rowCount()):
        table.setRowHeight(row, max(table.rowHeight(row), ROW_PX))
    table.setFixedHeight(rows + table.horizontalHeader().sizeHint().height() + 4)


def _put(table: QTableWidget, row: int, cells: list[str]) -> None:
    for column, text in enumerate(cells):
        item = QTableWidgetItem(text)
        if column:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        table.setItem(row, column, item)


class _TrackTable(QGroupBox):
    """A panel with a table of one row per track: its cells read back by metric or by column."""

    series: list[Series]
    table: QTableWidget

    def cell(self, metric: str, column: int) -> str:
        row = next(i for i, s in enumerate(self.series) if s.metric == metric)
        item = self.table.item(row, column)
        return item.text() if item is not None else ""

    def refit(self) -> None:
        fit_rows(self.table)

    def column(self, column: int) -> list[str]:
        items = (self.table.item(row, column) for row in range(self.table.rowCount()))
        return [item.text() if item is not None else "" for item in items]


class CursorReadout(_TrackTable):
    """Cursor A, cursor B and B - A: the times and each track's value at both."""

    def __init__(self, series: list[Series]) -> None:
        super().__init__("Cursors")
        self.series = [s for s in series if s.metric not in NOT_READ_AT_CURSORS]
        self.labels = track_labels(self.series, separator="\n")  # the model under the metric: a narrow column
        self.times = QLabel()
        self.times.setObjectName("readoutTimes")
        self.table = _table(["Track", "A", "B", "B \u2212 A"], len(self.series))
        layout = QVBoxLayout(self)
        layout.addWidget(self.times)
        layout.addWidget(self.table)
        _name_rows(self.table, self.series, self.labels)

    def show_cursors(self, a_us: int, b_us: int) -> None:
        apart = duration_text((b_us - a_us) / US_PER_S)
        self.times.setText(f"A {clock_seconds(a_us)}    B {clock_seconds(b_us)}    B \u2212 A {apart}")
        for row, s in enumerate(self.series):
            a, b = value_at(s, a_us), value_at(s, b_us)
            diff = None if a is None or b is None else b - a
            decimals = 1 if s.metric == "perfusion_index" else 0
            _put(
                self.table,
                row,
                [
                    self.labels[s],
                    number(a, decimals),
                    number(b, decimals),
                    (NO_VALUE if diff is None else f"{diff:+.{decimals}f}"),
                ],
            )


class RangeStatistics(_TrackTable):
    """Min, max and mean of every numeric track over the range in view, time below an SpO2 threshold, and the
    peak systolic pressure with its time after the first dose."""

    def __init__(self, series: list[Series], first_dose_us: int | None) -> None:
        super().__init__("Statistics of the range in view")
        self.series = [s for s in series if s.metric not in NOT_IN_STATISTICS]
        self.labels = track_labels(self.series, separator="\n")  # the model under the metric: a narrow column
        self.first_dose_us = first_dose_us
        self.range_label = QLabel()
        self.table = _table(["Track", "Min", "Max", "Mean", "Measured"], len(self.series))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(50.0, 100.0)
        self.threshold.setDecimals(0)
        self.threshold.setSuffix(" %")
        self.threshold.setValue(SPO2_THRESHOLD)
        self.below = QLabel()
        self.below.setWordWrap(True)  # "1 min 30 s (4.1 % of 36 min 48 s measured)" wraps in a narrow panel
        self.peak = QLabel()
        self.peak.setWordWrap(True)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(QLabel("SpO\u2082 below"))
        threshold_row.addWidget(self.threshold)
        threshold_row.addWidget(self.below, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.range_label)
        layout.addWidget(self.table)
        layout.addLayout(threshold_row)
        layout.addWidget(self.peak)
        _name_rows(self.table, self.series, self.labels)
        self._range: tuple[int, int] = (0, 0)
        self.threshold.valueChanged.connect(lambda _v: self.show_range(*self._range))

    def show_range(self, start_us: int, end_us: int) -> None:
        self._range = (start_us, end_us)
        length = duration_text((end_us - start_us) / US_PER_S)
        self.range_label.setText(f"{clock_seconds(start_us)} \u2013 {clock_seconds(end_us)} ({length})")
        for row, s in enumerate(self.series):
            stats = range_stats(s, start_us, end_us)
            decimals = 1 if s.metric == "perfusion_index" else 0
            _put(
                self.table,
                row,
                [
                    self.labels[s],
                    number(stats.minimum, decimals),
                    number(stats.maximum, decimals),
                    number(stats.mean, 1),
                    measured_text(stats.measured_s),
                ],
            )
        self.below.setText(self._below_text(start_us, end_us))
        self.peak.setText(self._peak_text(start_us, end_us))

    def _below_text(self, start_us: int, end_us: int) -> str:
        spo2 = [s for s in self.series if s.metric == "spo2"]
        if not spo2:
            return "no SpO\u2082 recorded"
        found = time_below(spo2[0], self.threshold.value(), start_us, end_us)
        if found.fraction is None:
            return "no SpO\u2082 reading in this range"
        share = f"{100 * found.fraction:.1f} % of {duration_text(found.measured_s)} measured"
        return f"{duration_text(found.below_s)} ({share})"

    def _peak_text(self, start_us: int, end_us: int) -> str:
        systolic = [s for s in self.series if s.metric == "nibp_systolic"]
        if not systolic:
            return "Peak BP: no blood pressure recorded"
        since = start_us if self.first_dose_us is None else max(start_us, self.first_dose_us)
        top = peak(systolic[0], since, end_us, self.first_dose_us)
        if top is None:
            return "Peak BP: no reading after the first dose in this range"
        diastolic = [value_at(s, top.t_us) for s in self.series if s.metric == "nibp_diastolic"]
        over = f"/{diastolic[0]:.0f}" if diastolic and diastolic[0] is not None else ""
        when = (
            f"{duration_text(top.after_first_dose_s)} after the first dose"
            if top.after_first_dose_s is not None
            else "no dose recorded"
        )
        return f"Peak BP {top.value:.0f}{over} mmHg at {clock_seconds(top.t_us)}, {when}"


class SignOffPanel(QGroupBox):
    """Who signed and when; once signed, addenda with what changed, why, who and when."""

    def __init__(self) -> None:
        super().__init__("Sign-off")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.sign_button = QPushButton("Sign the record")
        self.addendum_text = QLineEdit()
        self.addendum_text.setPlaceholderText("What is added or corrected")
        self.addendum_reason = QLineEdit()
        self.addendum_reason.setPlaceholderText("Why")
        self.add_button = QPushButton("Add addendum")
        self.addenda = QListWidget()
        self.addenda.setWordWrap(True)  # an addendum is read whole, not scrolled sideways
        self.addenda.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.addenda.setMinimumHeight(90)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Addendum", self.addendum_text)
        form.addRow("Reason", self.addendum_reason)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.sign_button)
        layout.addLayout(form)
        layout.addWidget(self.add_button)
        layout.addWidget(self.addenda)
        layout.addWidget(self.problem)
        self.addendum_widgets: tuple[QWidget, ...] = (self.addendum_text, self.addendum_reason, self.add_button)

    def show_record(self, record: SessionRecord) -> None:
        signed: SignOff | None = record.signed
        if signed is None:
            self.status.setText("Not signed. Signing locks the record; later changes are addenda.")
        else:
            self.status.setText(
                f"Signed by {signed.author} at {clock_seconds(signed.entered_us)}. The record is locked."
            )
        self.sign_button.setEnabled(signed is None)
        for widget in self.addendum_widgets:
            widget.setEnabled(signed is not None)
        self.addenda.clear()
        for entry in record.log:
            if isinstance(entry, Addendum):
                self.addenda.addItem(f"{clock_seconds(entry.entered_us)} {entry.author}: {entry.text}")

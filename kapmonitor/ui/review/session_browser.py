"""The recorded sessions, newest first, filtered by patient, date, protocol and status; a double-click opens one
for review (read-only; sign-off and addenda are the only writes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.bed.port import Records
from kapmonitor.core.clock import US_PER_S, from_iso
from kapmonitor.core.errors import UserError
from kapmonitor.ui import theme as themes
from kapmonitor.ui.review.panels import duration_text
from kapmonitor.ui.review.window import ReviewWindow, open_review
from kapmonitor.ui.screen_size import open_fitting
from kapmonitor.ui.widgets.pick_table import pick_table

ANY = "Any"
COLUMNS = ("Patient", "Date", "Start", "Duration", "Protocol", "Room", "Nurse", "Status")
AlarmLog = Callable[[int], tuple[AlarmEvent, ...]]  # session id -> its alarm log (default: the stored one)


@dataclass(frozen=True)
class SessionRow:
    id: int
    patient: str
    start: datetime | None  # local time
    duration_s: float | None
    protocol: str
    room: str
    nurse: str
    status: str

    @classmethod
    def from_listing(cls, found: dict[str, Any]) -> SessionRow:
        start_us = from_iso(found["start"]) if found.get("start") else None
        end_us = from_iso(found["end"]) if found.get("end") else None
        return cls(
            found["id"],
            found["patient"],
            None if start_us is None else datetime.fromtimestamp(start_us / US_PER_S).astimezone(),
            None if start_us is None or end_us is None else (end_us - start_us) / US_PER_S,
            found["protocol"] or "",
            found["room"] or "",
            found["nurse"] or "",
            found["status"],
        )

    def cells(self) -> list[str]:
        return [
            self.patient,
            "" if self.start is None else self.start.strftime("%Y-%m-%d"),
            "" if self.start is None else self.start.strftime("%H:%M"),
            "" if self.duration_s is None else duration_text(self.duration_s),
            self.protocol,
            self.room,
            self.nurse,
            self.status.replace("_", " "),
        ]


def matching(
    rows: Iterable[SessionRow],
    *,
    patient: str = "",
    first_day: date | None = None,
    last_day: date | None = None,
    protocol: str = ANY,
    status: str = ANY,
) -> list[SessionRow]:
    """The sessions that pass every filter, newest first (a patient code matches in part, any case; a session
    not started yet passes the date filters)."""
    wanted = patient.strip().lower()

    def keep(row: SessionRow) -> bool:
        day = row.start.date() if row.start is not None else None
        return (
            wanted in row.patient.lower()
            and (first_day is None or day is None or day >= first_day)
            and (last_day is None or day is None or day <= last_day)
            and protocol in (ANY, row.protocol)
            and status in (ANY, row.status)
        )

    return sorted((r for r in rows if keep(r)), key=lambda r: (r.start is not None, r.start, r.id), reverse=True)


class SessionBrowser(QWidget):
    opened = Signal(object)  # the ReviewWindow just shown

    def __init__(
        self,
        records: Records,
        *,
        author: str = "",
        alarm_log: AlarmLog | None = None,
        theme: themes.Theme | None = None,
        **review_options: object,
    ) -> None:
        super().__init__()
        self.records = records
        self.author = author
        self.alarm_log = alarm_log
        self.theme = theme or themes.remembered_theme(themes.settings())
        self.review_options = review_options
        self.windows: list[ReviewWindow] = []
        self.setWindowTitle("Recorded sessions")
        open_fitting(self, (1100, 650))  # as large as this, never larger than the screen
        self.patient = QLineEdit()
        self.patient.setPlaceholderText("Patient ID")
        self.first_day, self.last_day = QDateEdit(), QDateEdit()
        for edit in (self.first_day, self.last_day):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.protocol, self.status = QComboBox(), QComboBox()
        self.reload_button = QPushButton("Reload")
        self.table = pick_table(COLUMNS)
        self.hint = QLabel("Double-click a session to review it.")
        self.hint.setObjectName("muted")
        self._layout()
        self.rows: list[SessionRow] = []
        self.shown: list[SessionRow] = []
        self.reload()
        self.patient.textChanged.connect(self.apply_filters)
        for edit in (self.first_day, self.last_day):
            edit.dateChanged.connect(self.apply_filters)
        for box in (self.protocol, self.status):
            box.currentTextChanged.connect(self.apply_filters)
        self.reload_button.clicked.connect(self.reload)
        self.table.cellDoubleClicked.connect(lambda row, _column: self.open_session(self.shown[row].id))
        self.setStyleSheet(themes.stylesheet(self.theme) + f"QWidget {{ background: {self.theme.background}; }}")

    def _layout(self) -> None:
        filters = QHBoxLayout()
        for label, widget in (
            ("Patient", self.patient),
            ("From", self.first_day),
            ("To", self.last_day),
            ("Protocol", self.protocol),
            ("Status", self.status),
        ):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget, 1 if widget is self.patient else 0)
        filters.addWidget(self.reload_button)
        page = QVBoxLayout(self)
        page.addLayout(filters)
        page.addWidget(self.table, 1)
        page.addWidget(self.hint)

    def reload(self) -> None:
        """Read the session list again and reset the choices of the filters to what it holds."""
        self.rows = [SessionRow.from_listing(s) for s in self.records.list_sessions()]
        days = [r.start.date() for r in self.rows if r.start is not None] or [date.today()]
        statuses = self.records.statuses
        for edit, day in ((self.first_day, min(days)), (self.last_day, max(days))):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)
        for box, values in (
            (self.protocol, sorted({r.protocol for r in self.rows})),
            (self.status, [*statuses, *sorted({r.status for r in self.rows} - set(statuses))]),
        ):
            box.blockSignals(True)
            box.clear()
            box.addItems([ANY, *values])
            box.blockSignals(False)
        self.apply_filters()

    def apply_filters(self) -> None:
        self.shown = matching(
            self.rows,
            patient=self.patient.text(),
            first_day=self.first_day.date().toPython(),  # type: ignore[arg-type]
            last_day=self.last_day.date().toPython(),  # type: ignore[arg-type]
            protocol=self.protocol.currentText() or ANY,
            status=self.status.currentText() or ANY,
        )
        self.table.setRowCount(len(self.shown))
        for index, row in enumerate(self.shown):
            for column, text in enumerate(row.cells()):
                self.table.setItem(index, column, QTableWidgetItem(text))

    def open_session(self, session_id: int) -> ReviewWindow | None:
        try:
            alarms = self.alarm_log(session_id) if self.alarm_log is not None else None
            window = open_review(
                self.records, session_id, author=self.author, alarms=alarms, theme=self.theme, **self.review_options
            )
        except UserError as error:  # a session deleted meanwhile, an unreadable clinical record
            self.hint.setText(f"Session {session_id} cannot be opened: {error}")
            return None
        self.windows.append(window)
        self.opened.emit(window)
        return window

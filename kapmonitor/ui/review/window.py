"""The clinician's review of one recorded session, read-only except for sign-off and addenda.

Left: every track on a linked time axis, the event lane (doses, ratings, notes, alarms) and the overview strip
whose shaded region is the detail view. Right: the cursors' readout, the statistics of the range in view and
sign-off. N / P (or the buttons) move cursor A to the next / previous event or alarm. Exports call the
kapmonitor.export writers with the session already in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.bed.port import Records
from kapmonitor.core.access import User
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.errors import UserError
from kapmonitor.export.analysis import jump_targets, next_event, session_series
from kapmonitor.export.events import SessionEvent, labelled
from kapmonitor.export.loader import SessionData, SessionInfo
from kapmonitor.export.writers import export_writer
from kapmonitor.session.entries import Addendum
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import EntryError, SessionRecord
from kapmonitor.ui import theme as themes
from kapmonitor.ui.review.lane import ReviewLane
from kapmonitor.ui.review.panels import CursorReadout, RangeStatistics, SignOffPanel, clock_seconds
from kapmonitor.ui.review.sign_dialog import ask_password_to_sign
from kapmonitor.ui.review.tracks import ReviewTracks, in_row_order
from kapmonitor.ui.screen_size import open_fitting

SIDE_MIN_WIDTH = 470  # the cursor and statistics tables whole, beside curves still wide enough to read
OPEN_SIZE = (1800, 1050)  # as large as this, and never larger than the screen it opens on
STATS_DELAY_MS = 120  # statistics follow a pan once it pauses, so dragging stays at full frame rate
EXPORT_FORMATS = (("csv", "CSV"), ("pdf", "PDF report"), ("edf", "EDF+"), ("fhir", "FHIR bundle"))
PathChooser = Callable[[str, str], Path | None]  # (format, suggested name) -> where to write, None: cancelled
# (window, session, user name) -> the password typed in the sign-off confirmation, None: cancelled
PasswordAsker = Callable[[QWidget, SessionInfo, str], str | None]


class ReviewWindow(QMainWindow):
    def __init__(
        self,
        data: SessionData,
        *,
        records: Records | None = None,
        author: str = "",
        clock: Callable[[], int] = now_us,
        theme: themes.Theme | None = None,
        choose_path: PathChooser | None = None,
        user: User | None = None,
        ask_password: PasswordAsker | None = None,
    ) -> None:
        super().__init__()
        self.data = data
        self.user = user  # the logged-in reviewer: signs in their own name, and only with the permission
        self.records = records  # None: nothing can be signed (a session read from elsewhere)
        self.clock = clock
        self.choose_path = choose_path or self._ask_path
        self.ask_password = ask_password or ask_password_to_sign
        self.theme = theme or themes.remembered_theme(themes.settings())
        info = data.info
        self.setWindowTitle(f"Review \u2014 {info.patient}, session {info.id} ({info.protocol or 'no protocol'})")
        open_fitting(self, OPEN_SIZE)
        self.series = in_row_order(session_series(data))
        span = data.span_us() or (0, US_PER_S)
        self.span_us = span
        self.events: list[SessionEvent] = jump_targets(data.record, data.alarms)

        self.tracks = ReviewTracks(self.series, (span[0] / US_PER_S, span[1] / US_PER_S), self._cursors_moved)
        self.lane = ReviewLane(data.record, data.alarms)
        self.lane.link_to(self.tracks.rows[0])
        self.readout = CursorReadout(self.series)
        self.statistics = RangeStatistics(self.series, data.record.first_dose_us())
        self.sign_off = SignOffPanel()
        self.signer = QLineEdit(user.username if user is not None else "")
        self.signer.setPlaceholderText("Log in to sign or add addenda")
        self.signer.setReadOnly(True)  # the logged-in user signs, never a typed name
        self.event_label = QLabel("")
        self.event_label.setWordWrap(True)
        # What this window may change, on the steps row's right: in the header a laptop's width wrapped it as
        # "read-" / "only review" (and took a second line of the curves' height). Never wrapped: a non-breaking
        # hyphen, and a label that keeps its width.
        self.mode_label = QLabel("Read\u2011only review")
        self.mode_label.setObjectName("muted")
        self.mode_label.setToolTip("Sign-off and addenda are the only changes made here")
        self.previous_button = QPushButton("\u25c0 Previous event (P)")
        self.next_button = QPushButton("Next event (N) \u25b6")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self._layout()
        self._menus()
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(STATS_DELAY_MS)
        self._stats_timer.timeout.connect(self.refresh_statistics)
        self.tracks.rows[0].sigXRangeChanged.connect(lambda *_: self._stats_timer.start())
        self.previous_button.clicked.connect(lambda: self.jump(forward=False))
        self.next_button.clicked.connect(lambda: self.jump(forward=True))
        self.sign_off.sign_button.clicked.connect(lambda: self.sign())
        self.sign_off.add_button.clicked.connect(
            lambda: self.add_addendum(self.sign_off.addendum_text.text(), self.sign_off.addendum_reason.text())
        )
        self.apply_theme(self.theme)
        self._show_record()
        self._cursors_moved()
        self.refresh_statistics()

    # ---- layout --------------------------------------------------------------------------------

    def _layout(self) -> None:
        header = QLabel(self._header_text())
        header.setObjectName("reviewHeader")
        header.setWordWrap(True)  # a narrow window wraps the header, it does not widen the window
        self.header = header
        steps = QHBoxLayout()
        steps.addWidget(self.previous_button)
        steps.addWidget(self.next_button)
        steps.addWidget(self.event_label, 1)
        steps.addWidget(self.mode_label)
        curves = QVBoxLayout()
        curves.setContentsMargins(0, 0, 6, 0)
        curves.setSpacing(4)
        curves.addWidget(header)
        curves.addLayout(steps)
        curves.addWidget(self.tracks, 1)
        curves.addWidget(self.lane)
        curves.addWidget(self.tracks.overview_widget)
        signer = QHBoxLayout()
        signer.addWidget(QLabel("Reviewer"))
        signer.addWidget(self.signer, 1)
        side = QVBoxLayout()
        side.addWidget(self.readout)
        side.addWidget(self.statistics)
        side.addLayout(signer)
        side.addWidget(self.sign_off)
        side.addWidget(self.status_label)
        side.addStretch(1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        scroll = QScrollArea()
        scroll.setWidget(side_widget)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(SIDE_MIN_WIDTH)
        self.side = scroll
        curves_widget = QWidget()
        curves_widget.setLayout(curves)
        # The reviewer drags the divide: wider curves for reading a trace, a wider side for the tables.
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(curves_widget)
        self.splitter.addWidget(scroll)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setChildrenCollapsible(False)
        page = QHBoxLayout()
        page.setContentsMargins(10, 8, 10, 8)
        page.addWidget(self.splitter)
        central = QWidget()
        central.setObjectName("central")
        central.setLayout(page)
        self.setCentralWidget(central)

    def _header_text(self) -> str:
        info = self.data.info
        start = "" if info.start_us is None else clock_seconds(info.start_us)
        end = "" if info.end_us is None else clock_seconds(info.end_us)
        day = "" if info.start_us is None else _day(info.start_us)
        room = _room(info.room) if info.room else "no room recorded"
        nurse = f"nurse {info.nurse}" if info.nurse else "no nurse recorded"
        template = builtin_templates().get(info.protocol) if info.protocol else None
        protocol = template.title if template is not None else info.protocol or "no protocol"
        return (
            f"{info.patient}  \u00b7  {day} {start}\u2013{end}  \u00b7  {protocol}  \u00b7  "
            f"{room}  \u00b7  {nurse}"
        )

    def _menus(self) -> None:
        export = self.menuBar().addMenu("&Export")
        self.export_actions: dict[str, QAction] = {}
        for name, title in EXPORT_FORMATS:
            action = QAction(f"{title}\u2026", self)
            action.triggered.connect(lambda _=False, n=name: self.export(n))
            export.addAction(action)
            self.export_actions[name] = action
        go = self.menuBar().addMenu("&Go")
        for text, keys, forward in (("Next event", ("N", "PgDown"), True), ("Previous event", ("P", "PgUp"), False)):
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.triggered.connect(lambda _=False, f=forward: self.jump(forward=f))
            go.addAction(action)
            self.addAction(action)

    def apply_theme(self, theme: themes.Theme) -> None:
        self.theme = theme
        self.setStyleSheet(
            themes.stylesheet(theme)
            + f"""
            QGroupBox {{ border: 1px solid {theme.border}; border-radius: 6px; margin-top: 14px; padding: 8px;
                font-size: 15px; }}
            QGroupBox::title {{ subcontrol-origin: margin; left: 8px; color: {theme.muted}; }}
            QTableWidget, QListWidget {{ font-size: 15px; border: none; }}
            QScrollArea, QScrollArea > QWidget > QWidget {{ background: {theme.background}; border: none; }}
            QDoubleSpinBox {{ background: {theme.background}; color: {theme.text}; border: 1px solid {theme.border}; }}
            QLabel#readoutTimes, QLabel#reviewHeader {{ font-size: 16px; }}
            QLabel#problem {{ color: {theme.fault}; }}
            """
        )
        self.readout.refit()  # the style sheet's font decides how tall a two-line track name is
        self.statistics.refit()
        self.tracks.apply_theme(theme)
        self.lane.apply_theme(theme)
        self.tracks.overview_widget.setBackground(theme.panel)

    # ---- cursors, range, events --------------------------------------------------------------------

    def _cursors_moved(self) -> None:
        if hasattr(self, "readout"):
            self.readout.show_cursors(*self.tracks.cursor_times_us())

    def refresh_statistics(self) -> None:
        start_s, end_s = self.tracks.detail_range()
        self.statistics.show_range(round(start_s * US_PER_S), round(end_s * US_PER_S))
        self.lane.refresh(self.span_us[1])

    def select_range(self, start_us: int, end_us: int) -> None:
        """Show [start, end) in the detail view (as dragging the overview region does) and its statistics."""
        self.tracks.region.setRegion((start_us / US_PER_S, end_us / US_PER_S))
        self.refresh_statistics()

    def set_cursors(self, a_us: int, b_us: int) -> None:
        self.tracks.cursors[0].set(a_us / US_PER_S)
        self.tracks.cursors[1].set(b_us / US_PER_S)

    def jump(self, *, forward: bool = True) -> SessionEvent | None:
        """Move cursor A to the next (previous) event or alarm onset, bringing it into view."""
        a_us = self.tracks.cursor_times_us()[0]
        event = next_event(self.events, a_us, forward=forward)
        if event is None:
            self.event_label.setText("No further events" if forward else "No earlier events")
            return None
        t_s = event.t_us / US_PER_S
        self.tracks.cursors[0].set(t_s)
        low, high = self.tracks.detail_range()
        if not low <= t_s <= high:
            half = (high - low) / 2
            self.tracks.show_range(t_s - half, t_s + half)
        self.event_label.setText(f"{clock_seconds(event.t_us)}  {labelled(event)}")
        return event

    # ---- sign-off and addenda -------------------------------------------------------------------------

    def _show_record(self) -> None:
        self.sign_off.show_record(self.data.record)
        if self.data.record.signed is None:
            problem = self._why_not_signable()
            self.sign_off.sign_button.setEnabled(problem is None)
            self.sign_off.sign_button.setToolTip(problem or "")
            if problem is not None and self.records is not None:
                self.sign_off.status.setText(f"Not signed. {problem}")

    def _why_not_signable(self) -> str | None:
        """Why this window cannot sign now (None: it can ask for the password)."""
        if self.records is None:
            return "This session was not opened from the clinic's database."
        try:
            status = self.records.session_status(self.data.info.id)
        except UserError as error:
            return str(error)
        if status in ("in_progress", "planned"):
            return f"Session {self.data.info.id} is still recording: it can be signed once it has ended."
        if self.user is None:
            return "Log in as a clinician to sign: the record is signed under the logged-in name."
        if not self.user.may("session.sign"):
            return f"Only a clinician may sign. {self.user.username} is not one."
        return None

    def _write(self, change: Callable[[SessionRecord], object]) -> bool:
        if self.records is None:
            return False
        try:
            change(self.records.clinical_log(self.data.info.id))
            log = self.records.clinical_log(self.data.info.id)
        except (UserError, EntryError) as error:
            self.sign_off.problem.setText(str(error))
            return False
        self.sign_off.problem.setText("")
        self.data = dataclasses.replace(self.data, record=log)
        self.lane.record = log
        self.events = jump_targets(log, self.data.alarms)
        self._show_record()
        self.lane.refresh(self.span_us[1])
        return True

    def sign(self, password: str | None = None) -> bool:
        """Sign the record as the logged-in clinician, after a confirmation naming the patient and the session
        and the password typed again (``password`` given: the confirmation was answered already)."""
        problem = self._why_not_signable()
        if problem is not None or self.user is None or self.records is None:
            self.sign_off.problem.setText(problem or "")
            return False
        if password is None:
            password = self.ask_password(self, self.data.info, self.user.username)
            if password is None:
                return False
        records, username = self.records, self.user.username
        return self._write(
            lambda _log: records.sign_session(
                self.data.info.id, username=username, password=password, entered_us=self.clock()
            )
        )

    def add_addendum(self, text: str, reason: str) -> bool:
        """An addendum to the signed record: what is added or corrected and why, by the reviewer, now."""
        author = self.user.username if self.user is not None else ""
        if not author:
            self.sign_off.problem.setText("Log in to add an addendum: it is stored under the logged-in name.")
            return False
        if not (text.strip() and reason.strip()):
            self.sign_off.problem.setText("An addendum needs the text and the reason.")
            return False
        now = self.clock()
        entry = Addendum(t_us=now, entered_us=now, author=author, text=f"{text.strip()} (reason: {reason.strip()})")
        if not self._write(lambda log: log.add(entry)):
            return False
        self.sign_off.addendum_text.clear()
        self.sign_off.addendum_reason.clear()
        return True

    # ---- exports ---------------------------------------------------------------------------------

    def _ask_path(self, format_name: str, suggested: str) -> Path | None:
        chosen, _ = QFileDialog.getSaveFileName(self, f"Export session {self.data.info.id}", suggested)
        return Path(chosen) if chosen else None

    def export(self, format_name: str) -> list[Path]:
        # CSV and EDF+ may have several parts: a folder named after the session holds them
        suggested = f"session-{self.data.info.id}" + ("" if format_name in ("csv", "edf") else f".{format_name}")
        target = self.choose_path(format_name, suggested)
        if target is None:
            return []
        try:
            written = export_writer(format_name)(self.data, target)
        except (OSError, ValueError, UserError) as error:
            self.status_label.setText(f"The {format_name} export was not written: {error}")
            return []
        said = "Written: " + ", ".join(str(p) for p in written)
        warning = self.records.unvouched(self.data.info.id) if self.records is not None else None
        self.status_label.setText(f"{said}. Warning: {warning}" if warning else said)
        return written


def _room(room: str) -> str:
    """'room 3' for a room typed as '3'; a room typed as 'Room 3' or 'Chair 2' as it was typed."""
    return f"room {room}" if room[:1].isdigit() else room


def _day(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / US_PER_S).astimezone().strftime("%Y-%m-%d")


def open_review(
    records: Records,
    session_id: int,
    *,
    author: str = "",
    alarms: tuple[AlarmEvent, ...] | None = None,
    **options: object,
) -> ReviewWindow:
    """Load a recorded session and show it for review (``alarms``: default its stored alarm log; ``options``:
    clock, theme, choose_path, user)."""
    data = records.load_session(session_id, alarms)
    window = ReviewWindow(data, records=records, author=author, **options)  # type: ignore[arg-type]
    window.show()
    return window

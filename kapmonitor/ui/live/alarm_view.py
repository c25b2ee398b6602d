"""Alarms in the main window: the alarm bar under the session panel, the tile of a vital in alarm in its
priority colour, the session's alarm log as a dock (View > Alarm log), and therapy-room mode (View menu):
the screen dimmed and medium/low tones softer, while high-priority alarms stay fully audible and the bar
stays bright.

MainWindow builds one :class:`AlarmPanel` and places its bar; this module keeps the window module about vitals.
"""

from __future__ import annotations

import getpass
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHeaderView,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from kapmonitor.alarms.events import AlarmEvent, AlarmState
from kapmonitor.bed.port import Records
from kapmonitor.core.clock import US_PER_S
from kapmonitor.ui.live.alarm_bar import ALARM_COLOURS, AlarmBar, AlarmSource
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.tiles import NumericTile
from kapmonitor.ui.widgets.tones import TonePlayer

log = logging.getLogger(__name__)

THERAPY_ROOM_KEY = "view/therapy_room"
LOG_HEIGHT = 220  # px: about six rows of the alarm log when it opens (Qt would give it two)
DIM_ALPHA = 140  # of 255: the dimming over the window in therapy-room mode
# How the alarm log names the engine's states.
STATE_WORDS = {
    "active": "raised",
    "acknowledged": "acknowledged",
    "paused": "audio paused",
    "latched": "latched (condition gone)",
    "cleared": "cleared",
}


def mix(colour: str, base: str, share: float) -> str:
    """``share`` of ``colour`` over ``base``: a tint that keeps the tile's numbers readable."""
    a, b = QColor(colour), QColor(base)
    pairs = ((a.red(), b.red()), (a.green(), b.green()), (a.blue(), b.blue()))
    rgb = [round(x * share + y * (1 - share)) for x, y in pairs]
    return QColor(*rgb).name()


class AlarmLogView(QTableWidget):
    """The alarm log, newest first: when, priority, what happened, the alarm, who acted."""

    COLUMNS = ("Time", "Priority", "Event", "Alarm", "By")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self._events: list[AlarmEvent] = []  # as shown, newest first
        self._shown: set[AlarmEvent] = set()

    def add_events(self, events: Sequence[AlarmEvent]) -> None:
        """Show these events (in the order they happened), newest at the top; one already shown is skipped, so
        the session's stored log and the live feed can both be poured in."""
        fresh = [e for e in events if e not in self._shown]
        if not fresh:
            return
        self._shown.update(fresh)
        if not self._events or min(e.t_us for e in fresh) >= self._events[0].t_us:
            for e in fresh:  # the usual case: newer than everything shown
                self._events.insert(0, e)
                self.insertRow(0)
                self._show(0, e)
            return
        # Older events (a resumed session's earlier log): every row again, in time order.
        self._events = sorted([*self._events, *reversed(fresh)], key=lambda e: e.t_us, reverse=True)
        self.setRowCount(len(self._events))
        for row, e in enumerate(self._events):
            self._show(row, e)

    def _show(self, row: int, e: AlarmEvent) -> None:
        when = datetime.fromtimestamp(e.t_us / US_PER_S).strftime("%H:%M:%S")
        cells = (when, e.priority, STATE_WORDS.get(e.state, e.state), e.message or e.alarm, e.user)
        for column, text in enumerate(cells):
            self.setItem(row, column, QTableWidgetItem(text))

    def rows(self) -> list[tuple[str, ...]]:
        return [
            tuple(self.item(r, c).text() for c in range(self.columnCount()))  # type: ignore[union-attr]
            for r in range(self.rowCount())
        ]


class DimOverlay(QWidget):
    """A translucent dark layer over the window that lets clicks through (therapy-room mode)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.covered = parent
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        parent.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self.covered.rect())
        return False

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        QPainter(self).fillRect(self.rect(), QColor(0, 0, 0, DIM_ALPHA))


class AlarmPanel(QObject):
    """The main window's alarms: the bar (the window puts it above the curves), the tiles of vitals in alarm in
    their priority colour, the alarm log dock and therapy-room mode, with their View-menu entries. "Alarm
    limits…" is offered in the same menu; the window opens the screen (:attr:`limits_requested`)."""

    limits_requested = Signal()

    def __init__(
        self,
        window: QMainWindow,
        source: AlarmSource,
        *,
        view_menu: QMenu,
        tiles: Mapping[NumericTile, tuple[str, ...]],
        theme: Callable[[], Theme],
        clock: Callable[[], int],
        store: QSettings,
        subscribe: Callable[[Callable[[Sequence[AlarmEvent]], None]], None] | None = None,
        user: Callable[[], str] | None = None,
        player: TonePlayer | None = None,
    ) -> None:
        super().__init__(window)
        self.window, self.store, self.tiles, self.theme = window, store, dict(tiles), theme
        # Who acknowledges: the person logged in at this station (the log keeps the name with each action).
        self.bar = AlarmBar(source, user=user or (lambda: getpass.getuser()), clock=clock, player=player)
        self.log_view = AlarmLogView()
        self.dock = QDockWidget("Alarm log", window)
        self.dock.setObjectName("alarmLog")
        self.dock.setWidget(self.log_view)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.dock.visibilityChanged.connect(self._opened)
        central = window.centralWidget()
        if central is None:
            raise TypeError("the alarm panel goes into a window whose central widget is built")
        self.overlay = DimOverlay(central)
        self._incoming: deque[AlarmEvent] = deque()  # filled on the alarm-tick thread, emptied here
        if subscribe is not None:
            subscribe(self._incoming.extend)
        self._theme: Theme | None = None
        self._menu(view_menu)
        self.set_therapy_room(str(self.store.value(THERAPY_ROOM_KEY, "false")) == "true")
        self.bar.refreshed.connect(self.refresh)
        window.installEventFilter(self)
        self.refresh()
        QTimer.singleShot(0, self.refresh)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.bar.refresh_timer.stop()
            self.bar.flash_timer.stop()
            self.bar.player.stop()  # a tone still playing through a player command ends with the window
        return False

    def _menu(self, menu: QMenu) -> None:
        menu.addSeparator()
        self.therapy_action = QAction("Therapy-room mode (dim, softer medium/low tones)", self.window, checkable=True)
        self.therapy_action.toggled.connect(self.set_therapy_room)
        menu.addAction(self.therapy_action)
        log_action = self.dock.toggleViewAction()
        log_action.setText("Alarm log")
        menu.addAction(log_action)
        self.limits_action = QAction("Alarm limits\u2026", self.window)
        self.limits_action.triggered.connect(self.limits_requested)
        menu.addAction(self.limits_action)
        self.view_menu = menu

    @property
    def therapy_room(self) -> bool:
        return self.therapy_action.isChecked()

    def set_therapy_room(self, on: bool) -> None:
        self.therapy_action.setChecked(on)
        self.bar.player.therapy_room = on
        self.overlay.setGeometry(self.overlay.covered.rect())
        self.overlay.setVisible(on)
        self.overlay.raise_()
        self.bar.raise_()  # alarms stay bright above the dimming
        self.store.setValue(THERAPY_ROOM_KEY, "true" if on else "false")

    def _opened(self, visible: bool) -> None:
        if visible:  # room for a few rows, taken from the curves; the nurse can drag the edge (once laid out)
            QTimer.singleShot(0, lambda: self.window.resizeDocks([self.dock], [LOG_HEIGHT], Qt.Orientation.Vertical))

    def show_stored(self, records: Records, session_id: int) -> None:
        """Add the session's stored alarm log to the view (events already shown are not repeated)."""
        try:
            stored = records.alarm_log(session_id)
        except Exception as exc:  # noqa: BLE001 - the live log goes on; say why the earlier part is missing
            log.warning("cannot read the alarm log of session %s: %s", session_id, exc)
            self.dock.setWindowTitle("Alarm log (earlier events could not be read)")
            return
        self.log_view.add_events(stored)

    def refresh(self) -> None:
        """After each bar refresh: new log rows, the theme, and the tiles of vitals in alarm."""
        events = [self._incoming.popleft() for _ in range(len(self._incoming))]
        if events:
            self.log_view.add_events(events)
        theme = self.theme()
        if theme is not self._theme:
            self._theme = theme
            self.bar.apply_theme(theme)
        self.colour_tiles(self.bar.states, theme)

    def colour_tiles(self, states: Sequence[AlarmState], theme: Theme) -> None:
        for tile, metrics in self.tiles.items():
            on_it = [s for s in states if s.metric in metrics]  # highest priority first (the engine's order)
            if not on_it:
                tile.show_alarm(None)
                continue
            colour = ALARM_COLOURS[on_it[0].priority][0]
            tile.show_alarm(colour, mix(colour, theme.panel, 0.22 if theme.name == "dark" else 0.2))

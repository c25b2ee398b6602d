"""The central station's window: a tile per chair recording now, a banner for the most urgent alarm anywhere,
the alarms sounded here, and acknowledgements written to the chair's alarm log in the logged-in user's name.

The board is polled on a background thread twice a second (only rows newer than the last poll are read); the
tiles are redrawn from its answer on the UI thread. A database that cannot be reached is itself a technical
alarm here: the banner says so and the tiles grey out, rather than showing the last numbers as if current.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from kapmonitor.alarms.events import PRIORITY_RANK
from kapmonitor.bed.port import SILENT, CentralBoard, ChairAlarm, ChairView
from kapmonitor.core.clock import now_us
from kapmonitor.ui import theme as themes
from kapmonitor.ui.background import BackgroundTask
from kapmonitor.ui.central.tile import AUDIBLE, PRIORITY_COLOURS, ChairTile, alarm_text
from kapmonitor.ui.screen_size import open_fitting
from kapmonitor.ui.widgets.labels import set_style, set_text
from kapmonitor.ui.widgets.tones import TonePlayer, ToneSchedule

POLL_MS = 500
PAUSE_S = 120.0


class CentralWindow(QMainWindow):
    def __init__(
        self,
        board: CentralBoard,
        user: str,
        *,
        player: TonePlayer | None = None,
        theme: themes.Theme | None = None,
        poll_ms: int | None = POLL_MS,
    ) -> None:
        """``poll_ms`` None: the window does not poll by itself (the views come from :meth:`show_views`)."""
        super().__init__()
        self.board, self.user = board, user
        self.theme = theme or themes.remembered_theme(themes.settings())
        self.player = player if player is not None else TonePlayer()
        self.schedule = ToneSchedule()
        self.tiles: dict[int, ChairTile] = {}
        self._places: dict[int, tuple[int, int]] = {}  # where each tile sits in the grid
        self.views: list[ChairView] = []
        self.problem: str | None = None  # the database cannot be reached: why
        self.setWindowTitle(f"kapmonitor central station \u2014 {user}")
        self.setStyleSheet(themes.stylesheet(self.theme))
        self.banner = QLabel()
        self.banner.setObjectName("centralBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.empty = QLabel("No chair is recording on this database.")
        self.empty.setObjectName("muted")
        self.grid = QGridLayout()
        self.grid.setSpacing(8)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.banner)
        layout.addWidget(self.empty)
        layout.addLayout(self.grid, 1)
        self.setCentralWidget(body)
        self.status = QLabel()
        self.statusBar().addWidget(self.status)
        open_fitting(self, (1366, 768))  # as large as this, never larger than the screen, title bar included
        self.task = BackgroundTask("central-poll", self)
        self.task.finished.connect(self._polled)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        if poll_ms is not None:
            self.timer.start(poll_ms)
            self.refresh()

    # -- polling --------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.task.start(self.board.poll)

    def _polled(self, result: object) -> None:
        if isinstance(result, Exception):
            self.problem = f"cannot reach the database ({type(result).__name__}: {str(result).splitlines()[0]})"
        else:
            self.problem = None
            self.views = list(result)  # type: ignore[call-overload]
        self.show_views(self.views, now_us())

    # -- drawing (the frame the benchmark times) ------------------------------------------------------------

    def show_views(self, views: list[ChairView], now: int) -> None:
        wanted = [v.session_id for v in views]
        for gone in set(self.tiles) - set(wanted):
            self.tiles.pop(gone).deleteLater()
            self._places.pop(gone, None)
        columns = 2 if len(views) <= 4 else 4
        for index, view in enumerate(views):
            tile = self.tiles.get(view.session_id)
            if tile is None:
                tile = self.tiles[view.session_id] = ChairTile(self.theme, self)
                tile.acknowledge.connect(self.acknowledge)
                tile.pause.connect(self.pause_audio)
            place = (index // columns, index % columns)
            if self._places.get(view.session_id) != place:  # re-adding a tile lays the whole grid out again
                self.grid.addWidget(tile, *place)
                self._places[view.session_id] = place
            tile.setEnabled(self.problem is None)
            tile.show_view(view, now)
        self.empty.setVisible(not views and self.problem is None)
        self._banner(views)
        self._sound(views)
        shown = time.strftime("%H:%M:%S")
        self._status(
            f"{len(views)} chair{'s' if len(views) != 1 else ''} recording \u00b7 updated {shown} \u00b7 "
            f"{self.board.where} \u00b7 logged in: {self.user}"
        )

    def _status(self, text: str) -> None:
        set_text(self.status, text)

    def _urgent(self, views: list[ChairView]) -> list[tuple[ChairView, ChairAlarm]]:
        found = [(v, a) for v in views for a in v.alarms if a.state in AUDIBLE]
        return sorted(found, key=lambda va: (PRIORITY_RANK.get(va[1].priority, 9), va[1].since_us))

    def _banner(self, views: list[ChairView]) -> None:
        if self.problem is not None:
            text, colour = f"HIGH  central station: {self.problem}; chairs not updated", PRIORITY_COLOURS["high"]
        else:
            urgent = self._urgent(views)
            if not urgent:
                self.banner.setVisible(False)
                return
            view, alarm = urgent[0]
            others = f"   (+{len(urgent) - 1} more)" if len(urgent) > 1 else ""
            where = "" if alarm.alarm == SILENT else f"{view.bed}: "  # "chair 2 silent for 30 s" names it
            text = f"{alarm.priority.upper()}  {where}{alarm_text(alarm)}{others}"
            colour = PRIORITY_COLOURS.get(alarm.priority, "#ff4d4d")
        set_text(self.banner, text)
        css = f"background: {colour}; color: #0b0e12; font-size: 20px; font-weight: bold; padding: 6px;"
        set_style(self.banner, css)
        self.banner.setVisible(True)

    def _sound(self, views: list[ChairView]) -> None:
        urgent = self._urgent(views)
        priority = "high" if self.problem is not None else (urgent[0][1].priority if urgent else None)
        due = self.schedule.due(priority, time.monotonic())
        if due is not None:
            self.player.play(due)

    # -- the only writes: acknowledgements and audio pauses, in the chair's alarm log ------------------------

    def acknowledge(self, session_id: int, alarm: ChairAlarm) -> None:
        self._write(lambda: self.board.acknowledge(session_id, alarm, self.user))

    def pause_audio(self, session_id: int) -> None:
        self._write(lambda: self.board.pause_audio(session_id, self.user, PAUSE_S))

    def _write(self, write: object) -> None:
        try:
            write()  # type: ignore[operator]
        except Exception as error:  # the database is away: say so, the alarm keeps sounding
            QMessageBox.warning(self, "Not written", f"The acknowledgement was not written: {error}")
            return
        self.refresh()

    def stop(self) -> None:
        """No more polls; returns once the one under way (if any) has finished."""
        self.timer.stop()
        self.task.wait(timeout=30.0)

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt's name
        self.stop()
        super().closeEvent(event)  # type: ignore[arg-type]

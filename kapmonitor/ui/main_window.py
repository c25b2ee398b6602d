"""The nurse's main window: big numbers on the right, curves on the left, devices along the bottom.

Two timers drive it, both separate from data arrival: the plot timer (30 fps) hands the live buffers'
numpy arrays to the curves, and the status timer (2 Hz) refreshes the tiles, the device strip and the
session clock.

The window builds its own panels: the alarm bar, log and limits screen (``ui/live``), the clinical dock of a
protocol session (``ui/clinical``), and, once someone logs in, the user label, Users menu and lock
(``ui/access``); it opens the Devices window (``ui/devices``) and recorded sessions (``ui/review``). It is the
one module that composes the screens, which never import one another. It reaches the bed only through
:class:`kapmonitor.bed.port.BedPort`.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QMenu, QPushButton, QVBoxLayout, QWidget

from kapmonitor.bed.cuff_clock import CuffClock
from kapmonitor.bed.port import BedPort
from kapmonitor.core.access import User
from kapmonitor.core.clock import now_us
from kapmonitor.core.live import Latest
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import BodyWeight
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui import theme as themes
from kapmonitor.ui.access.lock_screen import LOCK_AFTER_MIN, LockScreen
from kapmonitor.ui.access.permissions import TrustControls
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.clinical.dock import CLINICAL_METRICS, ClinicalDock, live_readings
from kapmonitor.ui.clinical.permissions import apply_permissions
from kapmonitor.ui.live.alarm_limits import AlarmLimitsDialog
from kapmonitor.ui.live.alarm_view import AlarmPanel
from kapmonitor.ui.live.device_strip import DeviceStrip
from kapmonitor.ui.live.session_panel import SessionPanel, templates
from kapmonitor.ui.screen_size import open_fitting
from kapmonitor.ui.widgets.event_lane import EventLane
from kapmonitor.ui.widgets.plots import PLETH_SECONDS, TREND_STYLE, PlethPlot, TrendPlots
from kapmonitor.ui.widgets.tiles import DASHES, NumericTile, TileView, blood_pressure_view, numeric_view

PLOT_INTERVAL_MS = 33  # ~30 fps: smooth for a 75 Hz pleth, light on a small clinic PC
TREND_REFRESH_S = 1.0
STATUS_INTERVAL_MS = 500
CUFF_CHECK_US = 5_000_000  # the cuff schedule is looked at every 5 s: its checks run in minutes
DEMO_BANNER = "DEMO \u2014 simulated monitors"
BANNER_MAX_WIDTH = 170
TILE_COLUMN_MIN, TILE_COLUMN_MAX = 300, 540

# The tiles an alarm on these metrics colours.
TILE_ALARM_METRICS = {
    "spo2": ("spo2",),
    "pulse": ("pulse_rate", "heart_rate"),
    "nibp": ("nibp_systolic", "nibp_diastolic", "nibp_mean"),
    "pi": ("perfusion_index",),
}


class MainWindow(QMainWindow):
    user_changed = Signal(object)  # the User now at the monitor (trust: login, unlock as someone else)

    def __init__(
        self,
        station: BedPort,
        *,
        clock: Callable[[], int] = now_us,
        store: QSettings | None = None,
        demo: bool = False,
    ) -> None:
        super().__init__()
        self.station = station
        self.clock = clock
        self.store = store if store is not None else themes.settings()
        self.theme = themes.remembered_theme(self.store)
        self.setWindowTitle("kapmonitor" + (" \u2014 DEMO" if demo else ""))
        open_fitting(self, (1600, 1000))  # as large as this, never larger than the screen

        self.banner = QLabel(DEMO_BANNER)
        self.banner.setObjectName("banner")
        self.banner.setVisible(demo)
        self.banner.setWordWrap(True)  # two short lines beside the session controls, not one long one
        self.banner.setMaximumWidth(BANNER_MAX_WIDTH)
        self.session_panel = SessionPanel(station, clock)
        self.session_panel.session_started.connect(self._open_clinical_record)
        self.session_panel.session_stopped.connect(self._close_clinical_record)
        self.pleth = PlethPlot()
        self.trends = TrendPlots()
        self.spo2_tile = NumericTile("SpO\u2082", "%", "spo2", value_px=150)
        self.pulse_tile = NumericTile("Pulse", "bpm", "pulse", value_px=150)
        self.nibp_tile = NumericTile("NIBP", "mmHg", "systolic", value_px=100)
        self.measure_button = QPushButton("Measure now")
        self.measure_button.setToolTip("Start a blood pressure measurement on the cuff (F4)")
        self.measure_button.clicked.connect(lambda: self.measure_bp_now())
        self.nibp_tile.add_head_widget(self.measure_button)
        self.cuff_clock = CuffClock(lambda: self.station.transports)
        self._cuff_checked_us = 0
        self.pi_tile = NumericTile("PI", "%", "perfusion", value_px=60)
        self.device_strip = DeviceStrip()
        self.clinical: ClinicalDock | None = None  # set_clinical adds the dock and the event lane
        self.current_user: User | None = None  # who is logged in (None: a window without logins, in tests)
        self.trust: TrustControls | None = None  # log_in adds the user label, the Users menu and the lock
        self.alarm_limits_dialog: AlarmLimitsDialog | None = None
        self._layout()
        self._menus()
        self.alarm_panel = self._alarm_panel()
        self._bedside_menu()
        self.set_theme(self.theme)

        self._trends_drawn_s = 0.0
        self.plot_timer = QTimer(self)
        self.plot_timer.setInterval(PLOT_INTERVAL_MS)
        self.plot_timer.timeout.connect(self.refresh_plots)
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(STATUS_INTERVAL_MS)
        self.status_timer.timeout.connect(self.refresh_numbers)
        self.plot_timer.start()
        self.status_timer.start()
        self.refresh_numbers()
        self.trends.follow(self.clock() / 1e6)  # the trends show the clock from the first frame, before any data

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.banner)
        top.addWidget(self.session_panel, 1)
        curves = QVBoxLayout()
        curves.addWidget(self.pleth, 1)
        curves.addWidget(self.trends, 3)
        self.curves_layout = curves  # the alarm bar goes on top, the event lane under the trends
        tiles = QVBoxLayout()
        tiles.addWidget(self.spo2_tile, 5)
        tiles.addWidget(self.pulse_tile, 5)
        tiles.addWidget(self.nibp_tile, 5)
        tiles.addWidget(self.pi_tile, 4)
        tile_column = QWidget()
        tile_column.setLayout(tiles)
        # The numbers take a third of the width, 540 px at most; on a laptop beside the clinical record they
        # shrink with their tiles (the tiles fit their numbers to their size) instead of pushing the window wider.
        tile_column.setMinimumWidth(TILE_COLUMN_MIN)
        tile_column.setMaximumWidth(TILE_COLUMN_MAX)
        tiles.setContentsMargins(0, 0, 0, 0)
        self.tile_column = tile_column
        middle = QHBoxLayout()
        middle.addLayout(curves, 2)
        middle.addWidget(tile_column, 1)
        page = QVBoxLayout()
        page.setContentsMargins(10, 8, 10, 8)
        page.addLayout(top)
        page.addLayout(middle, 1)
        page.addWidget(self.device_strip)
        central = QWidget()
        central.setObjectName("central")
        central.setLayout(page)
        self.setCentralWidget(central)

    def _menus(self) -> None:
        view = self.menuBar().addMenu("&View")
        self.view_menu: QMenu = view
        group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for theme in themes.THEMES.values():
            action = QAction(f"{theme.name.capitalize()} theme", self, checkable=True)
            action.setChecked(theme is self.theme)
            action.triggered.connect(lambda _=False, t=theme: self.set_theme(t))
            group.addAction(action)
            view.addAction(action)
            self.theme_actions[theme.name] = action
        self._devices_menu()
        self._review_menu()

    # ---- alarms: the bar above the curves, tile colours, the log, therapy-room mode, the limits screen ----

    def _alarm_panel(self) -> AlarmPanel:
        tiles = {self.spo2_tile: "spo2", self.pulse_tile: "pulse", self.nibp_tile: "nibp", self.pi_tile: "pi"}
        panel = AlarmPanel(
            self,
            self.station.alarm_engine,
            view_menu=self.view_menu,
            tiles={tile: TILE_ALARM_METRICS[name] for tile, name in tiles.items()},
            theme=lambda: self.theme,
            clock=self.clock,
            store=self.store,
            subscribe=self.station.subscribe_alarms,
            user=self._who,
        )
        # Above the curves, beside the big numbers: the tile column is as tall as the window allows already.
        self.curves_layout.insertWidget(0, panel.bar)
        panel.limits_requested.connect(self.open_alarm_limits)
        # A session resumed after a crash, or the demo's, already has a log: show it with what comes next.
        self.session_panel.session_started.connect(self._show_stored_alarms)
        return panel

    # ---- the nurse's frequent actions, each a key (shown in the Bedside menu) ----------------------------------

    def _bedside_menu(self) -> None:
        """Bedside: acknowledge, pause audio, measure BP, a dose, a rating, a note, the record shown or hidden.
        Function keys, so no key typed into a field (a note, a dose) ever triggers one."""
        menu = QMenu("&Bedside", self)
        self.menuBar().insertMenu(self.menuBar().actions()[0], menu)
        self.bedside_menu = menu
        bar = self.alarm_panel.bar
        self.bedside_actions: dict[str, QAction] = {}
        for name, text, key, run in (
            ("acknowledge", "&Acknowledge alarms", "F2", bar.acknowledge_all),
            ("pause", "&Pause alarm audio 2 min", "F3", bar.pause_audio),
            ("measure_bp", "&Measure BP now", "F4", self.measure_bp_now),
            ("dose", "Log a &dose\u2026", "F5", lambda: self.show_clinical_page("doses")),
            ("rating", "Record a &rating\u2026", "F6", lambda: self.show_clinical_page("ratings")),
            ("note", "Write a &note\u2026", "F7", lambda: self.show_clinical_page("notes")),
        ):
            action = QAction(text, self)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _=False, r=run: r())
            menu.addAction(action)
            self.bedside_actions[name] = action
            if name == "measure_bp":
                menu.addSeparator()
        menu.addSeparator()
        self.record_action = QAction("Show the &clinical record", self, checkable=True, checked=True)
        self.record_action.setShortcut(QKeySequence("F9"))
        self.record_action.toggled.connect(self._show_record_dock)
        menu.addAction(self.record_action)
        self.bedside_actions["record"] = self.record_action
        self._clinical_actions_enabled(False)

    def _clinical_actions_enabled(self, enabled: bool) -> None:
        for name in ("dose", "rating", "note", "record"):
            self.bedside_actions[name].setEnabled(enabled)

    def _show_record_dock(self, shown: bool) -> None:
        if self.clinical is not None:
            size = self.size()
            self.clinical.setVisible(shown)
            self._keep_size(size)

    def _keep_size(self, size: QSize) -> None:
        """A record dock shown on an open window takes its width from the curves and tiles, as on a laptop
        it must: Qt would widen the window by the dock instead (1366 -> 1773 px, off the screen)."""
        if not self.isVisible():
            return

        def back(tries: int = 3, grown: int | None = None) -> None:
            if grown is not None and self.width() != grown:
                return  # resized meanwhile (the user, the window manager): that size stands
            layout = self.layout()
            if layout is not None:
                layout.activate()  # the window's least size as it now is
            least = self.minimumSizeHint()
            if least.width() > size.width() and tries > 1:  # a hidden dock's width still counted: next turn
                width = self.width()
                QTimer.singleShot(0, self, lambda: back(tries - 1, width))
            elif self.width() > max(size.width(), least.width()):  # only ever narrower
                self.resize(max(size.width(), least.width()), self.height())

        QTimer.singleShot(0, self, back)  # once the main window's layout has widened itself for the dock

    def show_clinical_page(self, page: str) -> QWidget | None:
        """Bring the clinical record into view on its dose, rating or notes page, the first field focused."""
        if self.clinical is None or not self.clinical.isEnabled():
            return None
        self.record_action.setChecked(True)
        return self.clinical.show_page(page)

    def measure_bp_now(self) -> int:
        """Start a measurement on every cuff kapmonitor drives; says so when none can be started from here."""
        asked = sum(transport.request_measurement() for transport in self.station.transports)
        if asked and self.clinical is not None and self.clinical.isEnabled():
            self.clinical.prompts.measuring(self.clock())  # a due BP check reads that the cuff is measuring
        self.session_panel.say(
            f"Blood pressure measurement started on {asked} cuff{'' if asked == 1 else 's'}."
            if asked
            else "No cuff here can be started from kapmonitor: start the measurement on the cuff."
        )
        return asked

    def _who(self) -> str:
        """Who acts at this monitor: the person logged in; the OS account only in a window without logins."""
        return self.current_user.username if self.current_user is not None else getpass.getuser()

    def _show_stored_alarms(self, session_id: int, *_details: object) -> None:
        records = self.station.records
        if records is not None:
            self.alarm_panel.show_stored(records, session_id)

    def open_alarm_limits(self) -> AlarmLimitsDialog:
        """View > Alarm limits…: every limit of the bed's profile, changed (audited) for this session."""
        self.alarm_limits_dialog = AlarmLimitsDialog(
            self.station, self.current_user, theme=self.theme, clock=self.clock, parent=self
        )
        self.alarm_limits_dialog.show()
        return self.alarm_limits_dialog

    # -- the technician's Devices window (kapmonitor.ui.devices.window) ---------------------------------------

    def _devices_menu(self) -> None:
        self.devices_window: QWidget | None = None
        menu = self.menuBar().addMenu("&Devices")
        self.devices_action = menu.addAction("Set up devices…")
        self.devices_action.triggered.connect(self.open_devices)

    def open_devices(self) -> None:
        from kapmonitor.ui.devices.window import DevicesWindow

        if self.devices_window is None:
            self.devices_window = DevicesWindow(self.station, theme=self.theme)
        self.devices_window.show()
        self.devices_window.raise_()

    # ---- review of recorded sessions (kapmonitor.ui.review.session_browser) ----------------------------------

    def _review_menu(self) -> None:
        review = self.menuBar().addMenu("&Review")
        self.review_action = QAction("Recorded sessions\u2026", self)
        self.review_action.triggered.connect(self.open_session_browser)
        review.addAction(self.review_action)
        self.session_browser: QWidget | None = None

    def open_session_browser(self) -> QWidget | None:
        """The recorded sessions of the station's database; reviewing one opens its own window."""
        records = self.station.records
        if records is None:
            return None
        from kapmonitor.ui.review.session_browser import SessionBrowser

        self.session_browser = SessionBrowser(
            records, author=getpass.getuser(), theme=self.theme, user=self.current_user
        )
        self.session_browser.show()
        return self.session_browser

    @property
    def tiles(self) -> tuple[NumericTile, ...]:
        return (self.spo2_tile, self.pulse_tile, self.nibp_tile, self.pi_tile)

    def set_theme(self, theme: themes.Theme) -> None:
        self.theme = theme
        themes.remember_theme(self.store, theme)
        self.theme_actions[theme.name].setChecked(True)
        self.setStyleSheet(themes.stylesheet(theme))
        for tile in self.tiles:
            tile.apply_theme(theme)
        self.pleth.apply_theme(theme)
        self.trends.apply_theme(theme)
        self.session_panel.apply_theme(theme)
        self.device_strip.show_statuses(self.station.statuses(), self.clock(), theme)
        if self.clinical is not None:
            self.clinical.apply_theme(theme)

    def set_clinical(
        self,
        record: SessionRecord,
        template: ProtocolTemplate,
        weight_kg: float | None,
        *,
        author: str | None = None,
        session_start_us: int | None = None,
        readings: Callable[[], list[Reading]] | None = None,
    ) -> ClinicalDock:
        """Show the clinical record of the running session (``record``: the SessionRecord API, e.g. the
        bed's audited clinical log) in a dock on the right, and its event lane under the trends.

        A weight different from the record's is recorded first (mg/kg needs it). Entries are written in the
        name of the person logged in (``author`` without logins). Calling again for the next session
        replaces the previous dock and lane.
        """
        if author is None:
            author = self.current_user.username if self.current_user is not None else "nurse"
        now = self.clock()
        if weight_kg is not None and record.weight_kg != weight_kg:
            record.add(BodyWeight(t_us=now, entered_us=now, author=author, kg=weight_kg))
        old = self.clinical
        if old is not None:
            self.removeDockWidget(old)
            for shortcut in old.shortcuts:
                shortcut.setParent(None)
            old.lane.setParent(None)
            old.deleteLater()
        ctx = ClinicalContext(
            record,
            template,
            self.clock,
            author,
            now if session_start_us is None else session_start_us,
            readings or live_readings(self.station.buffers),
            user=lambda: self.current_user,
            rems_pdf=self._rems_writer(getattr(record, "session_id", None)),
        )
        lane = EventLane(record)
        lane.link_to(self.trends.rows[0])
        self.curves_layout.addWidget(lane)
        dock = ClinicalDock(ctx, lane)
        size = self.size()
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.shortcuts = dock.notes.install_shortcuts(self)
        dock.prompts.measure_requested.connect(lambda: self.measure_bp_now())  # as F4 and "Measure now" do
        self.clinical = dock
        dock.setVisible(self.record_action.isChecked())
        self._keep_size(size)
        self._clinical_actions_enabled(True)
        dock.apply_theme(self.theme)
        apply_permissions(dock, self.current_user)
        return dock

    def _rems_writer(self, session_id: int | None) -> Callable[[Path], list[Path]] | None:
        """Writes the session's REMS form from what the database holds (None: no database or session)."""
        records = self.station.records
        if records is None or session_id is None:
            return None

        def write(path: Path) -> list[Path]:
            from kapmonitor.export.writers import export_writer

            return export_writer("rems")(records.load_session(session_id), path)

        return write

    # ---- who is at the monitor (kapmonitor.ui.access) ----------------------------------------------------

    def log_in(self, user: User, *, lock_after_min: float = LOCK_AFTER_MIN) -> TrustControls:
        """Logins on: the user label and the Users menu, the lock (Ctrl+L and after ``lock_after_min`` without
        input), with ``user`` at the monitor. The accounts are the bed's."""
        if self.trust is None:
            records = self.station.records
            if records is None:
                raise RuntimeError("this bed has no database, so no user accounts to log in with")
            lock_screen = LockScreen(
                self,
                records.users,
                tiles=self.tiles,
                theme=lambda: self.theme,
                current_user=lambda: self.current_user,
                unlocked=self.set_user,
                covered=lambda: (self.menuBar(), self.centralWidget(), self.clinical),
            )
            self.trust = TrustControls(
                self,
                records.users,
                lock_screen,
                theme=lambda: self.theme,
                current_user=lambda: self.current_user,
                lock_after_min=lock_after_min,
            )
            self.user_changed.connect(self.trust.show_user)
        self.set_user(user)
        return self.trust

    def set_user(self, user: User) -> None:
        """Who is at the monitor now: their name is audited for the station's actions and written on their
        clinical entries, and the clinical panels allow what their roles allow."""
        self.current_user = user
        self.station.user = user.username
        if self.clinical is not None:
            apply_permissions(self.clinical, user)
        self.user_changed.emit(user)

    def _open_clinical_record(self, session_id: int, patient: str, protocol: str, weight_kg: float | None) -> None:
        """A protocol session gets its clinical record, written to the station's database entry by entry;
        prompts and discharge read the recorded readings, flags and all."""
        records = self.station.records
        template = templates().get(protocol)
        if records is None or template is None:
            return
        self.set_clinical(
            records.clinical_log(session_id, template),
            template,
            weight_kg,
            session_start_us=records.session_start_us(session_id),
            readings=records.recorded_readings(session_id, list(CLINICAL_METRICS)),
        )

    def _close_clinical_record(self, session_id: int) -> None:
        """An ended session takes no more entries here (corrections go through review, as addenda), so its
        record steps aside: the new-session form needs the width, and a laptop's screen has none to spare."""
        size = self.size()
        if self.clinical is not None:
            self.clinical.prompts.end()
            self.clinical.setEnabled(False)
            self.clinical.setVisible(False)
        self._clinical_actions_enabled(False)
        self._keep_size(size)  # the form comes back while the dock goes: Qt may widen the window meanwhile

    def source(self, metric: str) -> str | None:
        """The device whose track of ``metric`` is shown: the one with the most samples, so a cuff's
        occasional pulse rate does not displace the oximeter's continuous one."""
        buffers = self.station.buffers
        keys = [key for key in buffers.tracks() if key[1] == metric]
        if not keys:
            return None
        return max(keys, key=buffers.total)[0]

    def refresh_plots(self) -> None:
        now_s = self.clock() / 1e6
        buffers = self.station.buffers
        pleth_device = self.source("pleth")
        if pleth_device is not None:
            t, v = buffers.arrays((pleth_device, "pleth"), since_s=now_s - PLETH_SECONDS - 1)
            self.pleth.show_wave(t, v, now_s)
        # A pixel of a 30-minute trend is about two seconds: redrawing trends (and their time axis, the most
        # expensive thing on screen) faster than once a second would only repaint the same picture.
        if now_s - self._trends_drawn_s < TREND_REFRESH_S:
            return
        self._trends_drawn_s = now_s
        since = now_s - self.trends.span_s - 60
        for metric in TREND_STYLE:
            device = self.source(metric)
            if device is not None:
                self.trends.show_trend(metric, *buffers.arrays((device, metric), since_s=since))
        self.trends.follow(now_s)

    def refresh_numbers(self) -> None:
        now = self.clock()
        self.spo2_tile.show_view(numeric_view(self._latest("spo2"), now))
        self.pulse_tile.show_view(numeric_view(self._latest("pulse_rate"), now))
        if self.source("perfusion_index") is None:  # many oximeters (Nonin DF7) do not send a perfusion index
            self.pi_tile.show_view(TileView(DASHES, "not measured", stale=True, quiet=True))
        else:
            self.pi_tile.show_view(numeric_view(self._latest("perfusion_index"), now, decimals=1))
        self.nibp_tile.show_view(
            blood_pressure_view(
                self._latest("nibp_systolic"), self._latest("nibp_diastolic"), self._latest("nibp_mean"), now
            )
        )
        self.device_strip.show_statuses(self.station.statuses(), now, self.theme)
        self.session_panel.refresh()
        if self.clinical is not None:
            self.clinical.tick()
            self._drive_cuff(now)

    def _drive_cuff(self, now: int) -> None:
        """The cuff on the protocol's clock: its interval for the phase, a measurement when a BP check is due."""
        if self.clinical is None or self.station.session_id is None or now - self._cuff_checked_us < CUFF_CHECK_US:
            return
        self._cuff_checked_us = now
        ctx = self.clinical.ctx
        started = self.cuff_clock.measurements_started
        done = self.cuff_clock.tick(
            ctx.template, ctx.record, ctx.readings(), session_start_us=ctx.session_start_us, now_us=now
        )
        if self.cuff_clock.measurements_started > started:
            self.clinical.prompts.measuring(now)
        if done:
            self.session_panel.say("Cuff: " + "; ".join(done))

    def _latest(self, metric: str) -> Latest | None:
        device = self.source(metric)
        return None if device is None else self.station.buffers.latest((device, metric))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.plot_timer.stop()
        self.status_timer.stop()
        if self.devices_window is not None:
            self.devices_window.close()
        super().closeEvent(event)

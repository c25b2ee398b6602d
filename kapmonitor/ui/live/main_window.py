"""The nurse's main window: big numbers on the right, curves on the left, devices along the bottom.

Two timers drive it, both separate from data arrival: the plot timer (30 fps) hands the live buffers'
numpy arrays to the curves, and the status timer (2 Hz) refreshes the tiles, the device strip and the
session clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from kapmonitor.core.clock import now_us
from kapmonitor.core.live import Latest, LiveBuffers
from kapmonitor.devices.links.transport import DeviceStatus
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.users import User
from kapmonitor.ui import theme as themes
from kapmonitor.ui.access.permissions import apply_permissions
from kapmonitor.ui.clinical.dock import CLINICAL_METRICS, ClinicalDock, attach_clinical
from kapmonitor.ui.live.alarm_view import install_alarm_panel
from kapmonitor.ui.live.device_strip import DeviceStrip
from kapmonitor.ui.live.session_panel import SessionPanel, templates
from kapmonitor.ui.live.tiles import DASHES, NumericTile, TileView, blood_pressure_view, numeric_view
from kapmonitor.ui.widgets.plots import PLETH_SECONDS, TREND_STYLE, PlethPlot, TrendPlots

PLOT_INTERVAL_MS = 33  # ~30 fps: smooth for a 75 Hz pleth, light on a small clinic PC
TREND_REFRESH_S = 1.0
STATUS_INTERVAL_MS = 500
DEMO_BANNER = "DEMO \u2014 simulated monitors"


class StationView(Protocol):
    """What the window needs from kapmonitor.bed.station.Station."""

    buffers: LiveBuffers
    session_id: int | None

    def statuses(self) -> list[DeviceStatus]: ...

    def start_session(self, patient: str, protocol: str = "") -> int: ...

    def stop_session(self) -> None: ...


class MainWindow(QMainWindow):
    user_changed = Signal(object)  # the User now at the monitor (trust: login, unlock as someone else)

    def __init__(
        self,
        station: StationView,
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
        self.resize(1600, 1000)

        self.banner = QLabel(DEMO_BANNER)
        self.banner.setObjectName("banner")
        self.banner.setVisible(demo)
        self.session_panel = SessionPanel(station, clock)
        self.session_panel.session_started.connect(self._open_clinical_record)
        self.session_panel.session_stopped.connect(self._close_clinical_record)
        self.pleth = PlethPlot()
        self.trends = TrendPlots()
        self.spo2_tile = NumericTile("SpO\u2082", "%", "spo2", value_px=150)
        self.pulse_tile = NumericTile("Pulse", "bpm", "pulse", value_px=150)
        self.nibp_tile = NumericTile("NIBP", "mmHg", "systolic", value_px=100)
        self.pi_tile = NumericTile("PI", "%", "perfusion", value_px=60)
        self.device_strip = DeviceStrip()
        self.clinical: ClinicalDock | None = None  # set_clinical adds the dock and the event lane
        self.current_user: User | None = None  # who is logged in (None: a window without logins, in tests)
        self._layout()
        self._menus()
        self.alarm_panel = install_alarm_panel(self, station)  # bar, tile colours, log, therapy room: alarm_view.py
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
        self.curves_layout = curves  # the event lane goes here, under the trends
        tiles = QVBoxLayout()
        tiles.addWidget(self.spo2_tile, 5)
        tiles.addWidget(self.pulse_tile, 5)
        tiles.addWidget(self.nibp_tile, 5)
        tiles.addWidget(self.pi_tile, 3)
        tile_column = QWidget()
        tile_column.setLayout(tiles)
        tile_column.setFixedWidth(540)
        tiles.setContentsMargins(0, 0, 0, 0)
        middle = QHBoxLayout()
        middle.addLayout(curves, 1)
        middle.addWidget(tile_column)
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

    # -- the technician's Devices window (kapmonitor.ui.devices.window) ---------------------------------------

    def _devices_menu(self) -> None:
        self.devices_window: QWidget | None = None
        menu = self.menuBar().addMenu("&Devices")
        self.devices_action = menu.addAction("Set up devices…")
        self.devices_action.triggered.connect(self.open_devices)

    def open_devices(self) -> None:
        from kapmonitor.ui.devices.window import DevicesWindow

        if self.devices_window is None:
            self.devices_window = DevicesWindow(self.station, theme=self.theme)  # type: ignore[arg-type]
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
        engine = getattr(self.station, "database", None)
        if engine is None:
            return None
        import getpass

        from kapmonitor.store.alarm_log import alarm_events
        from kapmonitor.ui.review.session_browser import SessionBrowser

        self.session_browser = SessionBrowser(
            engine,
            author=getpass.getuser(),
            alarm_log=lambda session_id: tuple(alarm_events(engine, session_id)),
            theme=self.theme,
            user=self.current_user,
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
        self, record: SessionRecord, template: ProtocolTemplate, weight_kg: float | None, **options: object
    ) -> ClinicalDock:
        """Show the clinical record of the running session (``record``: the SessionRecord API, e.g. the
        store's ClinicalLog). ``options``: author, session_start_us, readings (see attach_clinical)."""
        if self.current_user is not None:
            options.setdefault("author", self.current_user.username)
        dock = attach_clinical(self, record, template, weight_kg, **options)  # type: ignore[arg-type]
        apply_permissions(dock, self.current_user)
        return dock

    def set_user(self, user: User) -> None:
        """Who is at the monitor now: their name is audited for the station's actions and written on their
        clinical entries, and the clinical panels allow what their roles allow."""
        self.current_user = user
        if hasattr(self.station, "user"):
            self.station.user = user.username
        if self.clinical is not None:
            apply_permissions(self.clinical, user)
        self.user_changed.emit(user)

    def _open_clinical_record(self, session_id: int, patient: str, protocol: str, weight_kg: float | None) -> None:
        """A protocol session gets its clinical record, written to the station's database entry by entry."""
        engine = getattr(self.station, "database", None)
        template = templates().get(protocol)
        if engine is None or template is None:
            return
        from kapmonitor.store.clinical_log import ClinicalLog

        record = ClinicalLog(engine, session_id, template, audit=getattr(self.station, "audit", None))
        repository = getattr(self.station, "repository", None)
        options: dict[str, object] = {}
        if repository is not None:  # prompts and discharge from the recorded readings, flags and all
            options["session_start_us"] = repository.start_of(session_id)
            from kapmonitor.store.repository import RecordedReadings

            options["readings"] = RecordedReadings(repository, session_id, CLINICAL_METRICS)
        self.set_clinical(record, template, weight_kg, **options)

    def _close_clinical_record(self, session_id: int) -> None:
        """An ended session takes no more entries here (corrections go through review, as addenda)."""
        if self.clinical is not None:
            self.clinical.setEnabled(False)

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

    def _latest(self, metric: str) -> Latest | None:
        device = self.source(metric)
        return None if device is None else self.station.buffers.latest((device, metric))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.plot_timer.stop()
        self.status_timer.stop()
        if self.devices_window is not None:
            self.devices_window.close()
        super().closeEvent(event)

"""Start-up of the window application: check the platform plainly (``ui.startup``), then build the station and
the main window.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from kapmonitor.ui.startup import quit_on_interrupt, startup_problem

if TYPE_CHECKING:
    from kapmonitor.bed.station import Station
    from kapmonitor.core.access import User
    from kapmonitor.ui.main_window import MainWindow


def run(db_url: str | None, demo: bool, bed: str | None = None) -> int:
    problem = startup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1

    from PySide6.QtWidgets import QApplication

    from kapmonitor.bed.station import Station
    from kapmonitor.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kapmonitor")
    try:
        station = Station(db_url, bed=bed)
    except Exception as exc:  # an unreachable or unwritable database: say so in one line
        print(f"kapmonitor: cannot open the database: {exc}", file=sys.stderr)
        return 1
    try:
        user = _log_in(station, demo)
        if user is None:
            return 0  # the login was cancelled: nothing was started
        window = MainWindow(station, demo=demo)
        window.log_in(user)
        _offer_recovery(station, window)
        if demo:
            try:
                _start_demo(station, window)
            except Exception as exc:  # no pseudo-terminals, a simulator that failed: one line, no trace
                print(f"kapmonitor: the demo could not start its simulated monitors: {exc}", file=sys.stderr)
                return 1
        else:
            _add_configured_devices(station, window)
            station.start()
        window.show()
        with quit_on_interrupt(app, window):
            code = app.exec()
        window.close()
        if window.trust is not None:
            window.trust.stop()  # the inactivity lock stops watching input
        return code
    finally:
        station.stop()


def _log_in(station: Station, demo: bool) -> User | None:
    """The demo runs as the demo user; otherwise the login dialog (first-run administrator set-up included)."""
    from kapmonitor.ui.access.login_dialog import log_in

    directory = station.records.users
    return directory.demo_user() if demo else log_in(directory)


def _offer_recovery(station: Station, window: MainWindow) -> None:
    """Sessions a crashed kapmonitor left in progress: resume one, or close them at their last data."""
    from kapmonitor.ui.recovery_prompt import offer_recovery

    offer_recovery(station, window)


def _add_configured_devices(station: Station, window: MainWindow) -> None:
    """The devices saved in the Devices window; a bad file is shown, and the monitor opens without them."""
    from kapmonitor.bed.devices import add_configured_devices
    from kapmonitor.core.errors import UserError

    try:
        problems = add_configured_devices(station)
    except UserError as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"kapmonitor: {problem}", file=sys.stderr)
    if problems:
        window.banner.setText("Device setup: " + "; ".join(problems))
        window.banner.setVisible(True)


def _start_demo(station: Station, window: MainWindow) -> None:
    """The demo scenario's first 45 minutes already recorded (trends, doses, ratings, notes), then its simulated
    oximeter and NIBP module streaming on, each on a pseudo-terminal read through the real serial transport."""
    from kapmonitor.bed.demo import ALREADY_MINUTES, demo_scenario, start_demo

    print(f"kapmonitor: preparing the demo session ({ALREADY_MINUTES:.0f} min already recorded)", file=sys.stderr)
    demo = start_demo(station, demo_scenario())
    window.session_panel.show_running(
        demo.session_id,
        demo.patient,
        demo.protocol,
        demo.start_us,
        f"First {ALREADY_MINUTES:.0f} min replayed from the demo scenario; live from here.",
    )

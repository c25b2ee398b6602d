"""``kapmonitor central``: log in against the clinic's database, then the central station's window."""

from __future__ import annotations

import sys


def run(db_url: str | None, *, demo_user: bool = False) -> int:
    from kapmonitor.ui.startup import quit_on_interrupt, startup_problem

    problem = startup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    from kapmonitor.bed.clinic import ClinicBoard
    from kapmonitor.ui.access.login_dialog import log_in
    from kapmonitor.ui.central.window import CentralWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kapmonitor central")
    board = ClinicBoard.open(db_url)  # a DatabaseUnavailable is one line from the command line
    try:
        directory = board.users
        user = directory.demo_user() if demo_user else log_in(directory)
        if user is None:
            return 0
        window = CentralWindow(board, user.username)
        window.show()
        with quit_on_interrupt(app, window):
            code = app.exec()
        window.close()
        window.stop()
        app.processEvents()  # the last poll's answer is delivered while the window still exists
        return code
    finally:
        board.close()

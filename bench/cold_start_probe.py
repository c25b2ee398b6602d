"""Started by bench_cold_start in a fresh interpreter: the application's own start-up path up to the first paint."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from kapmonitor.bed.station import Station
from kapmonitor.ui.main_window import MainWindow


class FirstPaint(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            print("painted", flush=True)
            QApplication.instance().quit()
        return False


def main() -> None:
    app = QApplication(sys.argv[:1])
    station = Station(sys.argv[1])
    window = MainWindow(station)
    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.show()
    app.exec()
    station.stop()


if __name__ == "__main__":
    main()

"""Slow work (detecting a protocol, a Bluetooth scan) on a named thread, its result handed back to the UI thread
through a queued Qt signal, so the window never freezes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal


class BackgroundTask(QObject):
    """Runs ``work`` once per :meth:`start`; ``finished`` carries its result, or the exception it raised."""

    finished = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, work: Callable[[], object]) -> bool:
        """False (and nothing started) while the previous run is still going."""
        if self.running:
            return False
        self._thread = threading.Thread(target=self._run, args=(work,), name=f"kapmonitor-{self.name}", daemon=True)
        self._thread.start()
        return True

    def _run(self, work: Callable[[], object]) -> None:
        try:
            result: object = work()
        except Exception as exc:  # noqa: BLE001 - shown to the technician by the receiver
            result = exc
        self.finished.emit(result)

    def wait(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

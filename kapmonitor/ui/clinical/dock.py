"""The clinical side of the main window: the prompts on top, then tabs for doses, ratings, notes and the
entries, and the discharge dialog. Every panel's ``entered`` signal refreshes the others and the event lane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QPushButton, QTabWidget, QVBoxLayout, QWidget

from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import BodyWeight
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.context import ClinicalContext, panel_stylesheet
from kapmonitor.ui.clinical.discharge_dialog import DischargeDialog
from kapmonitor.ui.clinical.dose_panel import DosePanel
from kapmonitor.ui.clinical.entry_list import EntryList
from kapmonitor.ui.clinical.notes_panel import NotesPanel
from kapmonitor.ui.clinical.prompts_bar import PromptsBar
from kapmonitor.ui.clinical.rating_panel import RatingPanel
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.event_lane import EventLane

# The recorded values the prompts, the checklist and the REMS form read.
CLINICAL_METRICS = {"nibp_systolic": "mmHg", "nibp_diastolic": "mmHg", "spo2": "%"}


def live_readings(buffers: LiveBuffers) -> Callable[[], list[Reading]]:
    """Readings rebuilt from the live buffers (values only: the buffers keep no flags)."""

    def read() -> list[Reading]:
        found: list[Reading] = []
        for device, metric in buffers.tracks():
            if metric not in CLINICAL_METRICS:
                continue
            t, v = buffers.arrays((device, metric))
            for t_s, value in zip(t[~np.isnan(v)], v[~np.isnan(v)], strict=True):
                found.append(
                    Reading(
                        metric,
                        float(value),
                        CLINICAL_METRICS[metric],
                        frozenset(),
                        None,
                        round(t_s * 1e6),
                        device,
                    )
                )
        return found

    return read


class ClinicalDock(QDockWidget):
    def __init__(self, ctx: ClinicalContext, lane: EventLane) -> None:
        super().__init__("Clinical record")
        self.setObjectName("clinicalDock")
        self.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.ctx = ctx
        self.lane = lane
        self.prompts = PromptsBar(ctx)
        self.doses = DosePanel(ctx)
        self.ratings = RatingPanel(ctx)
        self.notes = NotesPanel(ctx)
        self.entries = EntryList(ctx)
        self.tabs = QTabWidget()
        for widget, title in (
            (self.doses, "Dose"),
            (self.ratings, "Rating"),
            (self.notes, "Notes"),
            (self.entries, "Entries"),
        ):
            widget.setObjectName("clinicalPage")
            self.tabs.addTab(widget, title)
            widget.entered.connect(self.entries_changed)
        self.discharge_button = QPushButton("Discharge\u2026")
        self.discharge_button.clicked.connect(self.open_discharge)
        self.dialog: DischargeDialog | None = None
        self.shortcuts: list = []  # the quick-event digits on the main window
        self._theme: Theme | None = None
        body = QWidget()
        body.setObjectName("clinicalPage")
        layout = QVBoxLayout(body)
        layout.addWidget(self.prompts)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.discharge_button)
        self.setWidget(body)
        self.setMinimumWidth(520)
        self.entries_changed()

    def entries_changed(self) -> None:
        self.doses.refresh()
        self.entries.refresh()
        self.prompts.refresh()
        self.lane.refresh(self.ctx.clock())

    def tick(self) -> None:
        """The window's status timer: the running total, the rest countdown and the infusion bar grow."""
        self.doses.refresh()
        self.lane.refresh(self.ctx.clock())

    def open_discharge(self) -> DischargeDialog:
        self.dialog = DischargeDialog(self.ctx, self)
        self.dialog.entered.connect(self.entries_changed)
        if self._theme is not None:
            self.dialog.setStyleSheet(
                panel_stylesheet(self._theme) + f"QDialog {{ background: {self._theme.panel}; }}"
            )
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.show()
        return self.dialog

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setStyleSheet(panel_stylesheet(theme))
        self.prompts.apply_theme(theme)
        self.lane.apply_theme(theme)


def attach_clinical(
    window: QMainWindow,
    record: SessionRecord,
    template: ProtocolTemplate,
    weight_kg: float | None,
    *,
    author: str = "nurse",
    session_start_us: int | None = None,
    readings: Callable[[], list[Reading]] | None = None,
) -> ClinicalDock:
    """Put the clinical dock on the right of a MainWindow and the event lane under its trends.

    A weight different from the record's is recorded first (mg/kg needs it). Calling again for the next
    session replaces the previous dock and lane.
    """
    now = window.clock()  # type: ignore[attr-defined]
    if weight_kg is not None and record.weight_kg != weight_kg:
        record.add(BodyWeight(t_us=now, entered_us=now, author=author, kg=weight_kg))
    old = window.clinical  # type: ignore[attr-defined]
    if old is not None:
        window.removeDockWidget(old)
        for shortcut in old.shortcuts:
            shortcut.setParent(None)
        old.lane.setParent(None)
        old.deleteLater()
    ctx = ClinicalContext(
        record,
        template,
        window.clock,  # type: ignore[attr-defined]
        author,
        now if session_start_us is None else session_start_us,
        readings or live_readings(window.station.buffers),  # type: ignore[attr-defined]
    )
    lane = EventLane(record)
    lane.link_to(window.trends.rows[0])  # type: ignore[attr-defined]
    window.curves_layout.addWidget(lane)  # type: ignore[attr-defined]
    dock = ClinicalDock(ctx, lane)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.shortcuts = dock.notes.install_shortcuts(window)
    window.clinical = dock  # type: ignore[attr-defined]
    dock.apply_theme(window.theme)  # type: ignore[attr-defined]
    return dock

"""The clinical side of the main window: the prompts on top, then tabs for doses, ratings, notes and the
entries, and the discharge dialog. Every panel's ``entered`` signal refreshes the others and the event lane.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QPushButton, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Reading
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
DOSE_PAGE_WIDTH = 481  # the dose page's least width: its bolus and infusion rows whole
DOCK_MIN_WIDTH = DOSE_PAGE_WIDTH + 40  # and the dock's margins and scroll bar
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
        # The record scrolls inside a dock of a fixed least width: a long entry or prompt never widens the
        # window, so it is as wide in the third session as in the first, and fits a 1366x768 laptop.
        scroll = QScrollArea()
        scroll.setObjectName("clinicalScroll")
        scroll.setWidget(body)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body_scroll = scroll
        self.setWidget(scroll)
        self.setMinimumWidth(DOCK_MIN_WIDTH)
        self.pages = {"doses": self.doses, "ratings": self.ratings, "notes": self.notes, "entries": self.entries}
        self.entries_changed()

    def show_page(self, name: str) -> QWidget:
        """Open the dose, rating, notes or entries page and focus its first field (a keyboard path)."""
        page = self.pages[name]
        self.tabs.setCurrentWidget(page)
        spray = self.doses.spray_box
        dose_field = spray.lot if spray is not None else self.doses.bolus_amount  # esketamine: the device's lot
        first: QWidget = {"doses": dose_field, "notes": self.notes.note}.get(name, page)
        if name == "ratings":  # the scale's first value: type it, Enter records it
            first = next(iter(self.ratings.fields.values()))
        first.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.body_scroll.ensureWidgetVisible(first)
        return first

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
            self.dialog.setStyleSheet(panel_stylesheet(self._theme) + f"QDialog {{ background: {self._theme.panel}; }}")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.show()
        return self.dialog

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setStyleSheet(panel_stylesheet(theme))
        self.prompts.apply_theme(theme)
        self.lane.apply_theme(theme)

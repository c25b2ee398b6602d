"""The live dose panel's totals, one line per drug: ketamine from the infusion's rate segments and midazolam from
its bolus are never added together, and each line says what the exports and `sessions show --json` say.
Grabbed at 1366x768 and 1920x1080 with both drugs given."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, fits, grab
from ui_station_double import StationDouble

from kapmonitor.export.record_json import dosing_json
from kapmonitor.session.entries import BolusDose, DoseOverride
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.dock import ClinicalDock
from kapmonitor.ui.clinical.dose_panel import TOTAL_PX
from kapmonitor.ui.main_window import MainWindow

T0 = 1_763_760_000_000_000
MIN = 60_000_000


class Bed:
    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self.now = [T0]
        self.window = MainWindow(
            StationDouble(),
            clock=lambda: self.now[0],
            store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
        )
        qtbot.addWidget(self.window)
        self.window.plot_timer.stop()
        self.window.status_timer.stop()
        self.window.session_panel.start_session("KAP-0042")
        template = builtin_templates()["iv-infusion"]
        self.record = SessionRecord.for_template(template)
        self.dock: ClinicalDock = self.window.set_clinical(self.record, template, 70.0, author="RN Kim")
        self.dock.prompts.timer.stop()
        self.window.show()
        qtbot.waitExposed(self.window)

    def at(self, minutes: float) -> None:
        self.now[0] = T0 + round(minutes * MIN)

    def midazolam(self, mg: float) -> None:
        """A midazolam bolus in the record, as a replayed scenario or another workstation writes one (the panel
        itself gives the protocol's drug)."""
        now = self.now[0]
        self.record.add(BolusDose(t_us=now, entered_us=now, author="RN Kim", mg=mg, route="iv", drug="midazolam"))
        self.dock.entries_changed()


@pytest.fixture
def bed(qtbot: QtBot, tmp_path: Path) -> Bed:
    return Bed(qtbot, tmp_path)


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_ketamine_and_midazolam_are_totalled_apart_as_the_exports_total_them(
    qtbot: QtBot, bed: Bed, tmp_path: Path
) -> None:
    doses = bed.dock.doses
    assert doses.total_label.text() == "Ketamine 0.0 mg  \u00b7  0.00 mg/kg"  # nothing given yet, said so
    click(qtbot, doses.pump_buttons["start"])  # the protocol's 0.75 mg/kg/h = 52.5 mg/h
    bed.at(5)
    bed.midazolam(2.0)
    bed.at(20)
    bed.window.refresh_numbers()  # the window's status timer: the infusion's total climbs
    assert doses.given_heading.text() == "Given this session"
    assert doses.total_label.text().split("\n") == [
        "Ketamine 17.5 mg  \u00b7  0.25 mg/kg",  # 52.5 mg/h for 20 min
        "Midazolam 2.0 mg  \u00b7  0.03 mg/kg",
    ]
    # The same figures `sessions show --json` and the exports give for this record at this time.
    drugs = dosing_json(bed.record, bed.now[0])["drugs"]
    assert {d: (v["total_mg"], v["total_mg_per_kg"]) for d, v in drugs.items()} == {
        "ketamine": (pytest.approx(17.5), pytest.approx(0.25)),
        "midazolam": (2.0, pytest.approx(2 / 70, abs=1e-3)),
    }
    for width, height in SCREENS:
        assert fits(bed.window, (width, height)) == []
        label = doses.total_label
        assert label.fontInfo().pixelSize() == TOTAL_PX  # large and bold in the dock's style, from the chair
        assert label.fontInfo().bold()
        assert label.heightForWidth(label.contentsRect().width()) <= 2 * label.fontMetrics().lineSpacing() + 1
        grab(bed.window, tmp_path / f"dose-totals-{width}x{height}.png")


def test_another_drugs_milligrams_do_not_count_against_the_ketamine_cap(qtbot: QtBot, bed: Bed) -> None:
    """The clinic maximum is 1 mg/kg of ketamine: 70 mg at 70 kg, whatever else the patient had."""
    doses = bed.dock.doses
    bed.midazolam(2.0)
    bed.at(1)
    doses.bolus_unit.setCurrentText("mg")
    doses.bolus_amount.setValue(69.0)
    click(qtbot, doses.bolus_button)
    QApplication.processEvents()
    assert not doses.override_box.isVisible() and doses.message.text() == ""
    assert [(d.drug, d.mg) for d in bed.record.doses()] == [("midazolam", 2.0), ("ketamine", 69.0)]
    assert not [e for e in bed.record.log if isinstance(e, DoseOverride)]
    assert doses.total_label.text().split("\n") == [
        "Ketamine 69.0 mg  \u00b7  0.99 mg/kg",
        "Midazolam 2.0 mg  \u00b7  0.03 mg/kg",
    ]
    bed.at(2)
    doses.bolus_amount.setValue(2.0)  # 71 mg of ketamine: past the maximum, held for a reason
    click(qtbot, doses.bolus_button)
    assert doses.override_box.isVisible() and "exceeds the clinic maximum" in doses.message.text()
    assert doses.message.text().startswith("71.0 mg = 1.01 mg/kg")

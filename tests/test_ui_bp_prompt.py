"""A due "BP" prompt of the protocol is acted on where it is read: a click on it starts the cuff through the same
path as F4 and the NIBP tile's "Measure now" (the SunTech module's start command goes out), the prompt reads that
the cuff is measuring, and the reading that comes answers it. Grabbed at 1366x768 and 1920x1080."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, fits, grab
from ui_station_double import CUFF, StationDouble, reading

from kapmonitor.devices.links.simulated import SimulatedTransport
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.devices.suntech.driver import SuntechDriver
from kapmonitor.devices.suntech.frames import START_BP
from kapmonitor.devices.suntech.simulator import SuntechSimulator
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.dock import ClinicalDock
from kapmonitor.ui.clinical.prompts_bar import MEASURING_US, PromptRow
from kapmonitor.ui.main_window import MainWindow

T0 = 1_763_760_000_000_000
S = 1_000_000


class Bed:
    """The nurse's window on an esketamine session: its first check is the pre-dose blood pressure."""

    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self.now = [T0]
        self.station = StationDouble()
        self.window = MainWindow(
            self.station,
            clock=lambda: self.now[0],
            store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
        )
        qtbot.addWidget(self.window)
        self.window.plot_timer.stop()
        self.window.status_timer.stop()
        self.window.session_panel.start_session("KAP-0042")
        template = builtin_templates()["intranasal-esketamine"]
        self.dock: ClinicalDock = self.window.set_clinical(
            SessionRecord.for_template(template), template, 68.0, author="RN Kim", session_start_us=T0
        )
        self.dock.prompts.timer.stop()
        self.window.show()
        qtbot.waitExposed(self.window)

    def add_cuff(self) -> SuntechDriver:
        driver = SuntechDriver()
        model = PhysiologicalModel(Scenario()).for_device("suntech-advantage")
        self.station.add_transport(SimulatedTransport("suntech-advantage", SuntechSimulator(model), driver=driver))
        return driver

    def row(self, text: str) -> PromptRow:
        [row] = [r for r in self.dock.prompts.rows if r.line.text == text]
        return row


@pytest.fixture
def bed(qtbot: QtBot, tmp_path: Path) -> Bed:
    return Bed(qtbot, tmp_path)


def shown(row: PromptRow) -> str:
    """What the row reads on the screen: its rich text as Qt lays it out, without the markup."""
    doc = QTextDocument()
    doc.setHtml(row.text())
    return doc.toPlainText().replace("\u00a0", " ")


def test_clicking_the_due_bp_prompt_starts_the_cuff_and_says_it_is_measuring(
    qtbot: QtBot, bed: Bed, tmp_path: Path
) -> None:
    driver = bed.add_cuff()
    row = bed.row("BP due (pre-dose)")
    assert shown(row) == "\u25cf  BP due (pre-dose) \u00b7 measure now"
    assert row.toolTip() == "Start a blood pressure measurement on the cuff (F4)"
    assert row.cursor().shape() == Qt.CursorShape.PointingHandCursor
    for width, height in SCREENS:
        assert fits(bed.window, (width, height)) == []
        grab(bed.window, tmp_path / f"bp-prompt-due-{width}x{height}.png")

    qtbot.mouseClick(row, Qt.MouseButton.LeftButton)
    assert driver.poll(0.0) == START_BP and driver.state == "measuring"  # the module is told to start at once
    assert bed.window.session_panel.message_label.text() == "Blood pressure measurement started on 1 cuff."
    row = bed.row("BP due (pre-dose)")
    assert shown(row) == "\u25cf  BP due (pre-dose) \u00b7 measuring\u2026"
    assert row.toolTip() == "The cuff is measuring"
    message = bed.window.session_panel.message_label
    for width, height in SCREENS:
        assert fits(bed.window, (width, height)) == []
        # The message uses the session bar's free width: two lines on a laptop, one on a desk monitor.
        lines = round(message.heightForWidth(message.contentsRect().width()) / message.fontMetrics().lineSpacing())
        assert lines == (2 if width < 1600 else 1), f"{lines} lines at {width}x{height}"
        grab(bed.window, tmp_path / f"bp-prompt-measuring-{width}x{height}.png")

    bed.now[0] = T0 + 10 * S
    qtbot.mouseClick(row, Qt.MouseButton.LeftButton)  # a second click while it measures starts nothing more
    late = driver.schedule.measurement_timeout_s + 1
    assert driver.poll(late) == b"" and driver.state == "idle"  # this measurement has had its time
    assert driver.poll(late + 1) == b""  # and no second one was asked for meanwhile

    # The cuff reports: the reading answers the pre-dose check, and the prompt goes.
    bed.now[0] = T0 + 50 * S
    pressures = (("nibp_systolic", 128), ("nibp_diastolic", 82))
    bed.station.publish([reading(metric, value, T0 + 45 * S, device=CUFF) for metric, value in pressures])
    bed.dock.prompts.refresh()
    assert "BP due (pre-dose)" not in [line.text for line in bed.dock.prompts.lines]
    assert bed.dock.prompts.measuring_since_us is None


def test_f4_and_the_tile_button_make_the_due_prompt_read_measuring_too(qtbot: QtBot, bed: Bed) -> None:
    driver = bed.add_cuff()
    qtbot.mouseClick(bed.window.measure_button, Qt.MouseButton.LeftButton)
    assert driver.state == "idle" and driver.poll(0.0) == START_BP
    assert shown(bed.row("BP due (pre-dose)")).endswith("measuring\u2026")


def test_without_a_cuff_kapmonitor_can_start_the_prompt_says_so_and_stays_offered(qtbot: QtBot, bed: Bed) -> None:
    row = bed.row("BP due (pre-dose)")
    qtbot.mouseClick(row, Qt.MouseButton.LeftButton)
    assert bed.window.session_panel.message_label.text() == (
        "No cuff here can be started from kapmonitor: start the measurement on the cuff."
    )
    assert shown(bed.row("BP due (pre-dose)")).endswith("measure now")


def test_a_measurement_that_never_reports_offers_the_check_again(qtbot: QtBot, bed: Bed) -> None:
    bed.add_cuff()
    qtbot.mouseClick(bed.row("BP due (pre-dose)"), Qt.MouseButton.LeftButton)
    assert shown(bed.row("BP due (pre-dose)")).endswith("measuring\u2026")
    bed.now[0] = T0 + MEASURING_US
    bed.dock.prompts.refresh()
    assert shown(bed.row("BP due (pre-dose)")).endswith("measure now")  # the cuff failed: offered again


def test_only_a_due_bp_check_starts_the_cuff(qtbot: QtBot, bed: Bed) -> None:
    driver = bed.add_cuff()
    bed.now[0] = T0 + 5 * 60 * S
    bed.dock.doses.spray_box.lot.setText("EK1")  # type: ignore[union-attr]
    bed.dock.doses.spray_box.device_given()  # type: ignore[union-attr]
    bed.dock.prompts.refresh()
    missed = bed.row("BP missed (pre-dose)")  # measuring now cannot make it a pre-dose reading
    assert shown(missed) == "\u25cf  BP missed (pre-dose)" and missed.toolTip() == ""
    qtbot.mouseClick(missed, Qt.MouseButton.LeftButton)
    assert driver.poll(0.0) == b"" and driver.state == "idle"


def test_a_measurement_the_protocols_clock_starts_reads_measuring_on_its_prompt(bed: Bed) -> None:
    driver = bed.add_cuff()
    bed.now[0] = T0 + 10 * S
    bed.window.refresh_numbers()  # the window's status timer: the cuff on the protocol's clock
    assert driver.poll(0.0) == START_BP
    assert shown(bed.row("BP due (pre-dose)")).endswith("measuring\u2026")

"""The dose panel shows and enforces the session's prescription: esketamine as 2 or 3 devices, never a 4th; a
device past the prescription waits for an override with a reason."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kapmonitor.session.entries import DoseOverride, IntranasalDevice
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.clinical.dose_panel import DosePanel

T0 = 1_763_760_000_000_000
MIN = 60_000_000
ESK = builtin_templates()["intranasal-esketamine"]


def panel_at(qtbot: QtBot, now: list[int]) -> tuple[DosePanel, SessionRecord]:
    record = SessionRecord.for_template(ESK)
    panel = DosePanel(ClinicalContext(record, ESK, lambda: now[0], "RN Lee", T0))
    qtbot.addWidget(panel)
    panel.show()
    return panel, record


def give_device(qtbot: QtBot, panel: DosePanel, now: list[int], minute: float, lot: str) -> None:
    now[0] = T0 + round(minute * MIN)
    panel.refresh()
    box = panel.spray_box
    assert box is not None
    box.lot.setText(lot)
    qtbot.mouseClick(box.button, Qt.MouseButton.LeftButton)


def test_the_prescription_is_shown_and_a_third_device_past_56_mg_needs_a_reason(qtbot: QtBot) -> None:
    now = [T0]
    panel, record = panel_at(qtbot, now)
    assert panel.prescription_label.text().startswith("No prescription recorded (protocol default: esketamine 56 mg")
    assert [panel.prescribe_choice.itemText(i) for i in range(panel.prescribe_choice.count())] == [
        "56 mg (2 devices)",
        "84 mg (3 devices)",
    ]
    qtbot.mouseClick(panel.prescribe_button, Qt.MouseButton.LeftButton)
    assert panel.prescription_label.text() == "Prescribed: esketamine 56 mg intranasal as 2 devices"

    give_device(qtbot, panel, now, 0, "EK1")
    give_device(qtbot, panel, now, 5, "EK2")
    assert panel.spray_box is not None
    assert panel.spray_box.button.text() == "Device 3 given (28 mg)"
    assert panel.spray_box.beyond.isVisible() and panel.spray_box.beyond.text() == (
        "Device 3 is past the 56 mg prescribed: giving it asks for an override with the reason."
    )
    give_device(qtbot, panel, now, 10, "EK3")
    assert len(record.sprays()) == 2
    assert "device 3 of 2 prescribed" in panel.message.text()
    assert panel.override_box.isVisible()
    qtbot.keyClicks(panel.override_reason, "prescriber raised the dose to 84 mg today")
    panel.confirm_override()
    assert len(record.sprays()) == 3
    (override,) = record.current_of(DoseOverride)
    assert (override.limit_mg, override.projected_mg, override.author) == (56.0, 84.0, "RN Lee")


def test_no_fourth_esketamine_device_is_offered(qtbot: QtBot) -> None:
    now = [T0]
    panel, record = panel_at(qtbot, now)
    panel.prescribe_choice.setCurrentIndex(1)
    qtbot.mouseClick(panel.prescribe_button, Qt.MouseButton.LeftButton)
    for minute, lot in ((0, "EK1"), (5, "EK2"), (10, "EK3")):
        give_device(qtbot, panel, now, minute, lot)
    assert [s.lot for s in record.current_of(IntranasalDevice)] == ["EK1", "EK2", "EK3"]
    box = panel.spray_box
    assert box is not None
    now[0] = T0 + 20 * MIN
    panel.refresh()
    assert not box.button.isVisible() and not box.button.isEnabled()
    assert box.countdown.text() == "84 mg given: the label's maximum; no further device"
    assert panel.total_label.text() == "Esketamine 84.0 mg"


def test_without_a_prescription_a_third_device_is_held_for_an_override_as_past_the_default_56_mg(
    qtbot: QtBot,
) -> None:
    now = [T0]
    panel, record = panel_at(qtbot, now)
    assert record.prescription is None  # nobody pressed Prescribe: the protocol's default (56 mg, 2 devices) holds
    give_device(qtbot, panel, now, 0, "EK1")
    give_device(qtbot, panel, now, 5, "EK2")
    box = panel.spray_box
    assert box is not None
    now[0] = T0 + 10 * MIN
    panel.refresh()
    assert box.beyond.isVisible() and box.beyond.text() == (  # said before the click: not offered as routine
        "No prescription recorded: device 3 is past the protocol's default of 56 mg. Record the prescription, or "
        "giving it asks for an override with the reason."
    )
    give_device(qtbot, panel, now, 10, "EK3")
    assert [s.lot for s in record.sprays()] == ["EK1", "EK2"]  # held, nothing recorded yet
    assert panel.message.text() == (
        "device 3 of 2 in the protocol's default: no prescription is recorded, so the default of 56 mg holds "
        "(record the prescription if more was prescribed). To give it anyway an override (who, why) must be recorded"
    )
    assert panel.override_box.isVisible()
    panel.confirm_override()  # no reason typed: still held
    assert len(record.sprays()) == 2 and "Write why" in panel.message.text()
    qtbot.keyClicks(panel.override_reason, "prescriber asked for 84 mg by phone; prescription to follow")
    qtbot.mouseClick(panel.override_button, Qt.MouseButton.LeftButton)
    assert [s.lot for s in record.sprays()] == ["EK1", "EK2", "EK3"]
    (override,) = record.current_of(DoseOverride)
    assert (override.limit_mg, override.projected_mg, override.author) == (56.0, 84.0, "RN Lee")
    assert override.reason == "prescriber asked for 84 mg by phone; prescription to follow"
    assert not panel.override_box.isVisible()


def test_a_recorded_84_mg_prescription_gives_the_third_device_as_routine(qtbot: QtBot) -> None:
    now = [T0]
    panel, record = panel_at(qtbot, now)
    give_device(qtbot, panel, now, 0, "EK1")
    give_device(qtbot, panel, now, 5, "EK2")
    panel.prescribe_choice.setCurrentIndex(1)  # 84 mg (3 devices), recorded before the third device
    qtbot.mouseClick(panel.prescribe_button, Qt.MouseButton.LeftButton)
    assert panel.prescription_label.text() == "Prescribed: esketamine 84 mg intranasal as 3 devices"
    now[0] = T0 + 10 * MIN
    panel.refresh()
    assert panel.spray_box is not None and panel.spray_box.button.text() == "Device 3 given (28 mg)"
    assert not panel.spray_box.beyond.isVisible()
    give_device(qtbot, panel, now, 10, "EK3")
    assert len(record.sprays()) == 3 and record.current_of(DoseOverride) == []

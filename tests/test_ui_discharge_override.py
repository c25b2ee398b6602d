"""Record discharge with checklist items open: the dialog asks for a reason, stores who, why and what was open,
and draws cleanly afterwards (grabbed to PNG at the size a laptop shows it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from kapmonitor.core.access import User
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import US_PER_MIN, Discharged, IntranasalDevice
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.clinical.discharge_dialog import DischargeDialog

T0 = 1_800_000_000_000_000
ESK = builtin_templates()["intranasal-esketamine"]
CUFF = "suntech-advantage@/dev/ttyUSB0"


def bp(minute: float, systolic: float, diastolic: float) -> list[Reading]:
    t = T0 + round(minute * US_PER_MIN)
    return [
        Reading("nibp_systolic", systolic, "mmHg", t_us=t, device=CUFF),
        Reading("nibp_diastolic", diastolic, "mmHg", t_us=t, device=CUFF),
    ]


def dialog_for(qtbot: QtBot, user: User) -> tuple[DischargeDialog, SessionRecord]:
    record = SessionRecord.for_template(ESK)
    for minute, lot in ((0, "EK1"), (5, "EK2")):
        t = T0 + minute * US_PER_MIN
        record.add(IntranasalDevice(t_us=t, entered_us=t, author=user.username, lot=lot))
    readings = [*bp(-5, 126, 80), *bp(40, 168, 98), *bp(125, 150, 92)]
    ctx = ClinicalContext(
        record, ESK, lambda: T0 + 130 * US_PER_MIN, user.username, T0, lambda: readings, user=lambda: user
    )
    dialog = DischargeDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.resize(1000, 700)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog, record


def test_discharge_with_open_items_asks_for_a_reason_and_stores_it(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, record = dialog_for(qtbot, User("dr.lee", frozenset({"clinician"})))
    assert dialog.ready_label.text().startswith("Not ready")
    qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
    assert record.discharged_us() is None
    assert "Type the reason to discharge anyway" in dialog.message.text()

    qtbot.mouseClick(dialog.confirm_buttons["ride-home"], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.reason, "Alert, BP falling, partner driving")
    qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
    (done,) = record.current_of(Discharged)
    assert done.author == "dr.lee" and done.override_reason == "Alert, BP falling, partner driving"
    assert any(item.startswith("MOAA/S 5 (alert)") for item in done.open_items)
    assert not dialog.discharge_button.isEnabled() and not dialog.reason.isVisible()
    assert "patient discharged with 3 item(s) open" in dialog.done_label.text()
    assert "reason: Alert, BP falling, partner driving (by dr.lee)" in dialog.done_label.text()

    QApplication.processEvents()
    shot = tmp_path / "discharge-after-record.png"
    assert dialog.grab().save(str(shot))
    # Drawn cleanly: every label on the page once, none on top of another.
    labels = [w for w in dialog.findChildren(QLabel) if w.isVisible() and w.text()]
    texts = [w.text() for w in labels]
    assert texts.count("Discharge checklist") == 1
    boxes = [(w.mapTo(dialog, w.rect().topLeft()), w.size()) for w in labels]
    for i, (a, sa) in enumerate(boxes):
        for b, sb in boxes[i + 1 :]:
            overlap_x = min(a.x() + sa.width(), b.x() + sb.width()) - max(a.x(), b.x())
            overlap_y = min(a.y() + sa.height(), b.y() + sb.height()) - max(a.y(), b.y())
            assert overlap_x <= 0 or overlap_y <= 0


def test_a_nurse_cannot_override_the_checklist_by_default(qtbot: QtBot) -> None:
    dialog, record = dialog_for(qtbot, User("rn.kim", frozenset({"nurse"})))
    qtbot.keyClicks(dialog.reason, "patient insists")
    qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
    assert record.discharged_us() is None
    assert "rn.kim may not record a discharge with open items" in dialog.message.text()

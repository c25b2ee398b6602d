"""The discharge dialog after a confirmation: the checklist is drawn once, the old one gone, not under the new."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from screen_fit import LAPTOP, grab, shown_at

from kapmonitor.session.entries import Confirmation
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.clinical.discharge_dialog import DischargeDialog

T0 = 1_763_760_000_000_000


def visible_labels(dialog: DischargeDialog) -> list[QLabel]:
    return [label for label in dialog.findChildren(QLabel) if label.isVisibleTo(dialog) and label.text()]


def overlapping(dialog: DischargeDialog) -> list[str]:
    """Pairs of visible labels drawn over one another."""
    labels = visible_labels(dialog)
    placed = [(label.text(), QRect(label.mapTo(dialog, QPoint(0, 0)), label.size())) for label in labels]
    return [
        f"{a!r} over {b!r}"
        for i, (a, where_a) in enumerate(placed)
        for b, where_b in placed[i + 1 :]
        if where_a.intersects(where_b)
    ]


def test_confirming_ride_home_redraws_the_checklist_once(qtbot: QtBot, tmp_path: Path) -> None:
    template = builtin_templates()["iv-infusion"]
    record = SessionRecord.for_template(template)
    dialog = DischargeDialog(ClinicalContext(record, template, lambda: T0, "RN Okafor", T0))
    qtbot.addWidget(dialog)
    dialog.show()
    shown_at(dialog, LAPTOP)
    assert dialog.ready_label.text() == "Not ready: 6 open"

    qtbot.mouseClick(dialog.confirm_buttons["ride-home"], Qt.MouseButton.LeftButton)
    shown_at(dialog, LAPTOP)

    assert [e.item for e in record.log if isinstance(e, Confirmation)] == ["ride-home"]
    texts = [label.text() for label in visible_labels(dialog)]
    assert texts.count("Ride home confirmed") == 1
    assert [t for t in texts if t.startswith("Not ready")] == ["Not ready: 5 open"]
    assert "confirmed by RN Okafor" in texts
    assert overlapping(dialog) == []
    [criterion] = [label for label in visible_labels(dialog) if label.text() == "Ride home confirmed"]
    [mark] = [label for label in visible_labels(dialog) if label.text() == "\u2713"]
    assert 0 < criterion.x() - mark.x() < 60  # the tick beside its criterion, not a third of the dialog away
    grab(dialog, tmp_path / "discharge-after-confirm.png")

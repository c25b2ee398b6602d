"""Rating entry from the scale files, keyboard first; the scale's own messages on a wrong entry."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.clinical.notes_panel import NotesPanel
from kapmonitor.ui.clinical.rating_panel import RatingPanel

T0 = 1_763_760_000_000_000


@pytest.fixture
def ctx() -> ClinicalContext:
    template = builtin_templates()["iv-infusion"]
    return ClinicalContext(SessionRecord.for_template(template), template, lambda: T0, "RN Lee", T0)


@pytest.fixture
def panel(qtbot, ctx: ClinicalContext) -> RatingPanel:  # noqa: ANN001
    widget = RatingPanel(ctx)
    qtbot.addWidget(widget)
    return widget


def type_and_enter(qtbot, field, text: str) -> None:  # noqa: ANN001
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def test_rass_takes_a_negative_level(panel: RatingPanel, ctx: ClinicalContext, qtbot) -> None:  # noqa: ANN001
    panel.choose("rass")
    type_and_enter(qtbot, panel.fields["level"], "-2")
    [rating] = ctx.record.ratings("rass")
    assert (rating.values, rating.score) == ((("level", -2),), -2)
    assert panel.last.text() == "Recorded RASS = -2"


def test_moaas_out_of_range_and_not_a_number_are_explained(
    panel: RatingPanel, ctx: ClinicalContext, qtbot
) -> None:  # noqa: ANN001
    panel.choose("moaas")
    type_and_enter(qtbot, panel.fields["level"], "7")
    assert panel.message.text() == "item level (Responsiveness) is 7, outside 0 to 5"
    assert panel.fields["level"].text() == "7"  # kept for correction
    panel.fields["level"].clear()
    type_and_enter(qtbot, panel.fields["level"], "x")
    assert panel.message.text() == "item level: 'x' is not a whole number"
    assert ctx.record.ratings() == []


def test_a_moaas_level_is_one_click(panel: RatingPanel, ctx: ClinicalContext) -> None:
    panel.choose("moaas")
    assert panel.record_value(3)
    assert [r.score for r in ctx.record.ratings("moaas")] == [3]


def test_the_patients_own_ratings_take_any_items(panel: RatingPanel, ctx: ClinicalContext, qtbot) -> None:  # noqa: ANN001
    panel.choose("patient-vas")
    type_and_enter(qtbot, panel.fields["nausea"], "")
    assert panel.message.text() == "no item was rated"
    type_and_enter(qtbot, panel.fields["nausea"], "3")
    [rating] = ctx.record.ratings("patient-vas")
    assert (rating.values, rating.score) == ((("nausea", 3),), None)


def test_the_full_cadss_lists_all_23_items(panel: RatingPanel, ctx: ClinicalContext) -> None:
    panel.choose("cadss")
    assert list(panel.fields) == [str(n) for n in range(1, 24)]
    for field in panel.fields.values():
        field.setText("1")
    assert panel.submit()
    assert [(r.form, r.score) for r in ctx.record.ratings("cadss")] == [("", 23)]


class FailingStore(SessionRecord):
    """A record whose store cannot write: the typed entry must stay on screen."""

    def add(self, entry, **kwargs):  # noqa: ANN001, ANN003, ANN201
        raise OSError("database is locked")


def test_a_store_failure_is_said_and_the_note_is_kept(qtbot, ctx: ClinicalContext) -> None:  # noqa: ANN001
    ctx.record = FailingStore()
    notes = NotesPanel(ctx)
    qtbot.addWidget(notes)
    type_and_enter(qtbot, notes.note, "Patient asleep")
    assert notes.message.text() == "Not saved, try again: database is locked"
    assert notes.note.text() == "Patient asleep"

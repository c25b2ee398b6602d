"""IV infusion entry, the running total, the max-dose override and corrections, through the real panels."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kapmonitor.session.dosing import cumulative_dose_mg
from kapmonitor.session.entries import Amendment, BodyWeight, BolusDose, DoseOverride, InfusionEvent, Note
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.clinical.dose_panel import DosePanel
from kapmonitor.ui.clinical.entry_list import EntryList
from kapmonitor.ui.widgets.lane_marks import lane_content

T0 = 1_763_760_000_000_000
MIN = 60_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now_us = T0

    def __call__(self) -> int:
        return self.now_us

    def at(self, minutes: float) -> None:
        self.now_us = T0 + round(minutes * MIN)


@pytest.fixture
def iv(qtbot):  # noqa: ANN001, ANN201
    template = builtin_templates()["iv-infusion"]
    record = SessionRecord.for_template(template)
    record.add(BodyWeight(t_us=T0, entered_us=T0, author="RN Lee", kg=70.0))
    clock = FakeClock()
    ctx = ClinicalContext(record, template, clock, "RN Lee", T0)
    panel = DosePanel(ctx)
    qtbot.addWidget(panel)
    return panel, record, clock


def click(qtbot, button) -> None:  # noqa: ANN001
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_an_infusion_with_rate_changes_shows_the_right_cumulative_dose(iv, qtbot) -> None:  # noqa: ANN001
    panel, record, clock = iv
    # The template's default: 0.5 mg/kg over 40 min = 0.75 mg/kg/h; mL/h only once the bag is entered.
    assert panel.rate.value() == pytest.approx(0.75)
    assert panel.rate_equals.text() == "0.75 mg/kg/h  =  52.50 mg/h  =  mL/h: enter the bag"
    panel.concentration.setValue(1.0)  # 50 mg in 50 mL, as the nurse prepared it
    assert panel.rate_equals.text() == "0.75 mg/kg/h  =  52.50 mg/h  =  52.50 mL/h"
    assert not panel.pump_buttons["rate"].isEnabled()
    click(qtbot, panel.pump_buttons["start"])

    clock.at(20)
    panel.refresh()
    assert panel.total_label.text() == "Ketamine 17.5 mg  \u00b7  0.25 mg/kg"  # 52.5 mg/h for 20 min

    panel.rate_unit.setCurrentText("mL/h")
    panel.rate.setValue(35.0)
    assert panel.rate_equals.text() == "0.50 mg/kg/h  =  35.00 mg/h  =  35.00 mL/h"
    click(qtbot, panel.pump_buttons["rate"])
    clock.at(30)
    click(qtbot, panel.pump_buttons["pause"])
    assert panel.total_label.text() == "Ketamine 23.3 mg  \u00b7  0.33 mg/kg"  # + 35 mg/h for 10 min
    clock.at(35)
    panel.refresh()
    assert panel.total_label.text() == "Ketamine 23.3 mg  \u00b7  0.33 mg/kg"  # paused: nothing runs
    click(qtbot, panel.pump_buttons["resume"])
    clock.at(47)
    click(qtbot, panel.pump_buttons["stop"])
    clock.at(60)
    panel.refresh()
    assert panel.total_label.text() == "Ketamine 30.3 mg  \u00b7  0.43 mg/kg"  # + 35 mg/h for 12 min
    assert cumulative_dose_mg(record.doses(), clock()) == pytest.approx(17.5 + 35 / 6 + 7.0)
    events = record.current_of(InfusionEvent)
    assert [(e.action, e.rate, e.rate_unit) for e in events] == [
        ("start", pytest.approx(0.75), "mg/kg/h"),
        ("rate", 35.0, "mL/h"),
        ("pause", None, "mL/h"),
        ("resume", None, "mL/h"),
        ("stop", None, "mL/h"),
    ]
    assert all(e.weight_kg == 70.0 and e.concentration_mg_per_ml == 1.0 for e in events)
    _, bars = lane_content(record, clock())
    assert [(round(b.start_s - T0 / 1e6), round(b.end_s - T0 / 1e6), b.label) for b in bars] == [
        (0, 1200, "52 mg/h (0.75 mg/kg/h)"),
        (1200, 1800, "35 mg/h (0.50 mg/kg/h)"),
        (2100, 2820, "35 mg/h (0.50 mg/kg/h)"),
    ]


def test_a_dose_above_the_maximum_demands_a_reason_and_records_it(iv, qtbot) -> None:  # noqa: ANN001
    panel, record, clock = iv
    clock.at(5)
    panel.bolus_unit.setCurrentText("mg/kg")
    panel.bolus_amount.setValue(1.2)
    assert panel.bolus_equals.text() == "= 84.0 mg"
    click(qtbot, panel.bolus_button)
    assert record.doses() == []
    assert panel.override_box.isVisibleTo(panel)
    assert "84.0 mg = 1.20 mg/kg exceeds the clinic maximum of 1 mg/kg" in panel.message.text()

    click(qtbot, panel.override_button)  # no reason yet: still held
    assert record.doses() == []
    assert panel.message.text() == "Write why the dose is given above the maximum before giving it."

    qtbot.keyClicks(panel.override_reason, "Dr Osei: treatment-resistant, tolerated 1.2 before")
    qtbot.keyClick(panel.override_reason, Qt.Key.Key_Return)
    override, bolus = record.log[-2:]
    assert isinstance(override, DoseOverride) and isinstance(bolus, BolusDose)
    assert override.reason == "Dr Osei: treatment-resistant, tolerated 1.2 before"
    assert (override.author, override.limit_mg_per_kg) == ("RN Lee", 1.0)
    assert override.projected_mg_per_kg == pytest.approx(1.2)
    assert (bolus.mg, bolus.mg_per_kg, bolus.route) == (pytest.approx(84.0), 1.2, "iv")
    assert not panel.override_box.isVisibleTo(panel)
    assert panel.total_label.text() == "Ketamine 84.0 mg  \u00b7  1.20 mg/kg"


def test_cancelling_an_override_gives_nothing(iv, qtbot) -> None:  # noqa: ANN001
    panel, record, clock = iv
    panel.bolus_unit.setCurrentText("mg")
    panel.bolus_amount.setValue(100.0)
    click(qtbot, panel.bolus_button)
    panel.cancel_override()
    assert record.doses() == [] and panel.message.text() == ""


def test_an_amendment_from_the_entry_list_keeps_the_original(iv, qtbot) -> None:  # noqa: ANN001
    panel, record, clock = iv
    ctx = panel.ctx
    clock.at(2)
    panel.bolus_unit.setCurrentText("mg")
    panel.bolus_amount.setValue(35.0)
    click(qtbot, panel.bolus_button)
    record.add(Note(t_us=clock(), entered_us=clock(), author="RN Lee", text="Dose given left arm"))
    entries = EntryList(ctx)
    qtbot.addWidget(entries)
    bolus_ref = next(ref for ref, e in enumerate(record.log, 1) if isinstance(e, BolusDose))

    clock.at(4)
    entries.select_ref(bolus_ref)
    assert [entries.field.itemText(i) for i in range(entries.field.count())] == ["mg", "site", "lot"]
    entries.field.setCurrentText("mg")
    qtbot.keyClicks(entries.value, "30")
    click(qtbot, entries.amend_button)
    assert entries.message.text() == "an amendment needs a reason"
    qtbot.keyClicks(entries.reason, "syringe held 30 mg")
    click(qtbot, entries.amend_button)

    assert record.entry_at(bolus_ref).mg == 35.0  # the original stays as entered
    amendment = record.log[-1]
    assert isinstance(amendment, Amendment)
    assert (amendment.original_ref, amendment.changes, amendment.reason) == (
        bolus_ref,
        (("mg", 30.0),),
        "syringe held 30 mg",
    )
    assert record.current_of(BolusDose)[0].mg == 30.0
    row = [entries.list.item(i).text() for i in range(entries.list.count())]
    assert any("ketamine 30 mg IV [amended]" in text for text in row), row  # in words, never a repr
    assert not any("BolusDose" in text or "=" in text for text in row)

    note_ref = next(ref for ref, e in enumerate(record.log, 1) if isinstance(e, Note))
    entries.select_ref(note_ref)
    qtbot.keyClicks(entries.reason, "wrong patient chart")
    click(qtbot, entries.void_button)
    assert record.notes() == [] and isinstance(record.entry_at(note_ref), Note)
    assert any("[voided]" in entries.list.item(i).text() for i in range(entries.list.count()))


def test_stopping_the_pump_past_the_maximum_is_never_held_for_an_override(iv, qtbot) -> None:  # noqa: ANN001
    panel, record, clock = iv
    click(qtbot, panel.pump_buttons["start"])  # 0.75 mg/kg/h for the planned 40 min: 0.5 mg/kg
    clock.at(10)
    panel.bolus_unit.setCurrentText("mg/kg")
    panel.bolus_amount.setValue(0.6)  # 0.125 + 0.6 mg/kg so far: under the 1 mg/kg maximum
    click(qtbot, panel.bolus_button)
    clock.at(40)  # the infusion has now brought the total to 1.1 mg/kg
    click(qtbot, panel.pump_buttons["stop"])
    stop = record.log[-1]
    assert isinstance(stop, InfusionEvent) and stop.action == "stop" and stop.t_us == T0 + 40 * MIN
    assert not panel.override_box.isVisibleTo(panel)
    assert not any(isinstance(e, DoseOverride) for e in record.log)

"""A nurse's intranasal esketamine session through the real widgets: keys and clicks in, exact entries out."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtWidgets import QApplication
from ui_station_double import CUFF, StationDouble, reading

from kapmonitor.session.entries import (
    BodyWeight,
    Confirmation,
    Discharged,
    IntranasalDevice,
    Note,
    QuickEvent,
    Rating,
)
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.clinical.discharge_dialog import rems_rows
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.widgets.lane_marks import ROWS

T0 = 1_763_760_000_000_000
MIN = 60_000_000


class FakeClock:
    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us

    def at(self, minutes: float) -> None:
        self.now_us = T0 + round(minutes * MIN)


def stored_record(tmp_path, template):  # noqa: ANN001, ANN201
    """A ClinicalLog on a real database: every entry the widgets make is committed as it is made."""
    from kapmonitor.store.clinical_log import ClinicalLog
    from kapmonitor.store.db import open_database
    from kapmonitor.store.repository import SessionRepository

    engine = open_database(f"sqlite:///{tmp_path / 'clinical.sqlite'}")
    session_id = SessionRepository(engine).start_session("KAP-0042", "intranasal-esketamine")
    return ClinicalLog(engine, session_id, template)


@pytest.fixture(params=["in memory", "in the database"])
def session(request, qtbot, tmp_path):  # noqa: ANN001, ANN201
    clock = FakeClock(T0)
    station = StationDouble()
    window = MainWindow(
        station, clock=clock, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    template = builtin_templates()["intranasal-esketamine"]
    if request.param == "in the database":
        record = stored_record(tmp_path, template)
    else:
        record = SessionRecord.for_template(template)
    dock = window.set_clinical(record, template, 70.0, author="RN Kim", session_start_us=T0)
    dock.prompts.timer.stop()
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    return window, dock, record, clock, station


def publish_bp(station: StationDouble, minutes: float, systolic: float, diastolic: float) -> None:
    t = T0 + round(minutes * MIN)
    station.publish(
        [reading("nibp_systolic", systolic, t, CUFF), reading("nibp_diastolic", diastolic, t, CUFF)]
    )


def prompt_texts(dock) -> list[str]:  # noqa: ANN001
    dock.prompts.refresh()
    return [line.text for line in dock.prompts.lines]


def give_device(qtbot, dock, lot: str) -> None:  # noqa: ANN001
    box = dock.doses.spray_box
    qtbot.keyClicks(box.lot, lot)
    qtbot.keyClick(box.lot, Qt.Key.Key_Return)


def test_a_nurses_intranasal_session_leaves_the_exact_entries_and_lane_marks(session, qtbot) -> None:  # noqa: ANN001
    window, dock, record, clock, station = session
    station.publish([reading("spo2", 98, T0 + 1 * MIN)])
    assert "BP due (pre-dose)" in prompt_texts(dock)

    clock.at(3)
    publish_bp(station, 3, 128, 80)
    assert "BP due (pre-dose)" not in prompt_texts(dock)

    # Two devices, each with its lot, five minutes apart; the countdown holds the second one back.
    clock.at(5)
    give_device(qtbot, dock, "EK4471")
    clock.at(7)
    dock.tick()
    box = dock.doses.spray_box
    assert box.countdown.text() == "Rest 3:00 before device 2"
    assert not box.button.isEnabled()
    give_device(qtbot, dock, "EK4472")
    assert box.problem.text() == "Rest between devices: 3:00 to go."
    assert len(record.sprays()) == 1
    clock.at(10)
    dock.tick()
    assert box.countdown.text() == "Rest over (last device 5 min ago)"
    box.lot.clear()
    give_device(qtbot, dock, "EK4472")
    assert [s.lot for s in record.sprays()] == ["EK4471", "EK4472"]
    assert dock.doses.total_label.text() == "Esketamine 56.0 mg  \u00b7  0.80 mg/kg"

    # MOAA/S comes due 15 minutes after the first spray; a digit and Enter record it.
    clock.at(17.5)
    assert "MOAA/S due in 3 min" in prompt_texts(dock)
    assert [line.status for line in dock.prompts.lines] == ["upcoming"]
    clock.at(20)
    assert "MOAA/S due" in prompt_texts(dock)
    dock.tabs.setCurrentWidget(dock.ratings)
    dock.ratings.choose("moaas")
    field = dock.ratings.fields["level"]
    qtbot.keyClicks(field, "4")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "MOAA/S due" not in prompt_texts(dock)

    # CADSS-6 at ~40 min, keyboard only: digits and Tab, Enter at the end; a wrong value is explained first.
    clock.at(45)
    publish_bp(station, 45, 150, 95)
    dock.ratings.choose("cadss", "cadss-6")
    first = dock.ratings.fields["1"]
    qtbot.keyClicks(first, "9")
    qtbot.keyClick(first, Qt.Key.Key_Return)
    assert "item 1 (Time seems slowed) is 9, outside 0 to 4" in dock.ratings.message.text()
    assert "item 2 (Surroundings seem unreal or dreamlike) is missing" in dock.ratings.message.text()
    first.clear()
    first.setFocus()
    for digit in "210100":
        focused = QApplication.focusWidget()
        qtbot.keyClicks(focused, digit)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    qtbot.keyClick(dock.ratings.fields["22"], Qt.Key.Key_Return)
    assert dock.ratings.message.text() == ""

    # A note (its digit stays in the note), a quick event by key, a back-timed note.
    clock.at(50)
    dock.tabs.setCurrentWidget(dock.notes)
    qtbot.keyClicks(dock.notes.note, "Patient calm, 2 blankets")
    qtbot.keyClick(dock.notes.note, Qt.Key.Key_Return)
    dock.tabs.setFocus()
    qtbot.keyClick(dock.tabs, Qt.Key.Key_3)
    clock.at(52)
    dock.notes.minutes_ago.setValue(2)
    qtbot.keyClicks(dock.notes.note, "Nausea settled")
    qtbot.keyClick(dock.notes.note, Qt.Key.Key_Return)
    assert dock.notes.minutes_ago.value() == 0

    # Recovery and discharge.
    station.publish([reading("spo2", 97, T0 + 125 * MIN)])
    publish_bp(station, 128, 130, 82)
    clock.at(130)
    dock.ratings.choose("moaas")
    dock.ratings.record_value(5)
    dialog = dock.open_discharge()
    assert dialog.ready_label.text().startswith("Not ready")
    qtbot.mouseClick(dialog.confirm_buttons["ride-home"], Qt.MouseButton.LeftButton)
    assert dialog.ready_label.text().startswith("Ready since")
    qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
    rems = dict(rems_rows(dialog.rems))
    assert rems["Dose"] == "56 mg (56), 2 device(s)"
    assert rems["Lot(s)"] == "EK4471, EK4472"
    assert rems["Monitored"] == "125 min"
    assert rems["BP pre-dose"].startswith("128/80 mmHg")
    assert rems["BP at ~40 min"].startswith("150/95 mmHg")
    assert rems["BP at discharge"].startswith("130/82 mmHg")
    assert rems["Sedation"] == "yes"
    assert rems["Dissociation"] == "no"  # CADSS-6 of 3 at 40 min, read like the full scale's ratings
    assert dialog.rems.missing == ()
    assert dialog.missing_label.text() == "Form complete"

    kinds = [
        (type(e).__name__, getattr(e, "lot", None) or getattr(e, "text", None) or getattr(e, "code", None))
        for e in record.log
    ]
    assert kinds == [
        ("BodyWeight", None),
        ("IntranasalDevice", "EK4471"),
        ("IntranasalDevice", "EK4472"),
        ("Rating", None),
        ("Rating", None),
        ("Note", "Patient calm, 2 blankets"),
        ("QuickEvent", "music-change"),
        ("Note", "Nausea settled"),
        ("Rating", None),
        ("Confirmation", None),
        ("Discharged", None),
    ]
    assert isinstance(record.log[0], BodyWeight) and record.log[0].kg == 70.0
    assert all(e.author == "RN Kim" for e in record.log)
    sprays = [e for e in record.log if isinstance(e, IntranasalDevice)]
    assert [s.t_us for s in sprays] == [T0 + 5 * MIN, T0 + 10 * MIN]
    ratings = [e for e in record.log if isinstance(e, Rating)]
    assert [(r.scale, r.form, r.score) for r in ratings] == [
        ("moaas", "", 4),
        ("cadss", "cadss-6", 4),
        ("moaas", "", 5),
    ]
    assert ratings[1].values == (("1", 2), ("2", 1), ("6", 0), ("7", 1), ("15", 0), ("22", 0))
    notes = [e for e in record.log if isinstance(e, Note)]
    assert [(n.t_us, n.entered_us) for n in notes] == [
        (T0 + 50 * MIN, T0 + 50 * MIN),
        (T0 + 50 * MIN, T0 + 52 * MIN),
    ]
    quick = [e for e in record.log if isinstance(e, QuickEvent)]
    assert [(q.label, q.t_us) for q in quick] == [("Music changed", T0 + 50 * MIN)]
    assert [c.item for c in record.log if isinstance(c, Confirmation)] == ["ride-home"]
    assert [d.t_us for d in record.log if isinstance(d, Discharged)] == [T0 + 130 * MIN]

    if hasattr(record, "engine"):  # the rows in the database, read back by a fresh reader, are these entries
        from kapmonitor.store.clinical_log import session_record

        assert session_record(record.engine, record.session_id).log == record.log

    marks = dock.lane.marks
    assert [m.kind for m in marks] == [
        "spray",
        "spray",
        "rating",
        "rating",
        "note",
        "note",
        "quick-event",
        "rating",
    ]
    assert marks[0].t_s == (T0 + 5 * MIN) / 1e6
    assert "lot EK4471" in dock.lane.detail_near(marks[0].t_s, ROWS["dose"])
    assert "MOAA/S 4" in marks[2].label


def test_hovering_a_mark_shows_its_details(session, qtbot) -> None:  # noqa: ANN001
    window, dock, record, clock, station = session
    window.resize(1920, 1080)  # a desk monitor: the lane whole on the screen, wherever the window opened
    QApplication.processEvents()
    clock.at(3)
    dock.notes.note.setText("Pre-dose checks done")
    dock.notes.add_note()
    window.trends.follow(clock() / 1e6 + 60)
    dock.lane.refresh(clock())
    view = dock.lane.getPlotItem().getViewBox()
    scene_point = view.mapViewToScene(QPointF(clock() / 1e6, ROWS["note"]))
    target = dock.lane.mapFromScene(scene_point)
    # Beside the mark, then on it, as a hand moves: an earlier test may have left the cursor on the mark (a move
    # to where it is moves nothing), and pyqtgraph drops a move that follows the last within its mouse rate limit.
    qtbot.mouseMove(dock.lane.viewport(), target + QPoint(0, 3))
    qtbot.wait(round(2000 / pg.getConfigOption("mouseRateLimit")))
    qtbot.mouseMove(dock.lane.viewport(), target)
    qtbot.waitUntil(lambda: "Pre-dose checks done" in dock.lane.toolTip(), timeout=2000)
    assert dock.lane.detail_near(clock() / 1e6, ROWS["rating"]) == ""


def test_digits_typed_into_a_field_are_not_quick_events(session, qtbot) -> None:  # noqa: ANN001
    window, dock, record, clock, station = session
    qtbot.keyClicks(dock.notes.note, "0123")
    assert record.quick_events() == []
    dock.tabs.setFocus()
    qtbot.keyClick(dock.tabs, Qt.Key.Key_1)
    assert [q.code for q in record.quick_events()] == ["emesis"]
    assert dock.notes.note.text() == "0123"


def test_the_next_session_replaces_the_dock_lane_and_keys(session, qtbot) -> None:  # noqa: ANN001
    window, dock, record, clock, station = session
    template = builtin_templates()["iv-infusion"]
    second = SessionRecord.for_template(template)
    new_dock = window.set_clinical(second, template, 80.0, author="RN Lee")
    QApplication.processEvents()
    assert window.clinical is new_dock and dock.lane.parent() is None
    assert second.weight_kg == 80.0 and new_dock.doses.limit_label.text() == (
        "weight 80 kg  \u00b7  clinic maximum 1 mg/kg"
    )
    new_dock.tabs.setFocus()
    qtbot.keyClick(new_dock.tabs, Qt.Key.Key_1)
    assert [q.code for q in second.quick_events()] == ["emesis"]
    assert record.quick_events() == []
    dialog = new_dock.open_discharge()
    assert dialog.rems is None  # the REMS form is for intranasal esketamine only

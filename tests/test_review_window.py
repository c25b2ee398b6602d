"""The clinician's review with real widgets: open a recorded 40-minute session from the session browser, move
the cursors, select a range, read the statistics, step through events, sign, and add an addendum."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from clinician_support import CLINICIAN_PASSWORD, clinician
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, text
from ui_station_double import StationDouble

from bench import fixtures
from kapmonitor.bed.records import ClinicRecords
from kapmonitor.export.loader import SessionInfo, load_session
from kapmonitor.session.entries import Addendum, SignOff
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import engine_for, open_database
from kapmonitor.store.repository import SessionRepository
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.review.lane import ALARM_ROW
from kapmonitor.ui.review.session_browser import SessionBrowser, SessionRow, matching
from kapmonitor.ui.review.window import ReviewWindow
from kapmonitor.ui.theme import DARK, LIGHT
from kapmonitor.ui.widgets.trace import TraceItem

S = 1_000_000
DURATION_S = 40 * 60
CLOCK_US = fixtures.T0 + 3 * 3600 * S  # "now" for the reviewer: three hours after the session began


@pytest.fixture(scope="module")
def recorded_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fixtures.RecordedReview]:
    path = tmp_path_factory.mktemp("review") / "recorded.sqlite"
    engine = open_database(f"sqlite:///{path}")
    written = fixtures.record_review_session(engine, DURATION_S)
    engine.dispose()
    return path, written


@pytest.fixture
def engine(recorded_file: tuple[Path, fixtures.RecordedReview], tmp_path: Path) -> Engine:
    """A fresh copy of the recorded database for each test, so signing in one does not lock another's."""
    copy = tmp_path / "review.sqlite"
    shutil.copy(recorded_file[0], copy)
    engine = engine_for(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


@pytest.fixture
def written(recorded_file: tuple[Path, fixtures.RecordedReview]) -> fixtures.RecordedReview:
    return recorded_file[1]


@pytest.fixture
def browser(qtbot: QtBot, engine: Engine, written: fixtures.RecordedReview) -> SessionBrowser:
    found = SessionBrowser(
        ClinicRecords(engine),
        author="Dr. A. Lee",
        alarm_log=lambda _id: written.alarms,
        theme=DARK,
        clock=lambda: CLOCK_US,
    )
    qtbot.addWidget(found)
    return found


@pytest.fixture
def window(qtbot: QtBot, browser: SessionBrowser) -> ReviewWindow:
    """The session opened the way a clinician does: a double-click on its row."""
    assert browser.table.rowCount() == 1
    browser.table.cellDoubleClicked.emit(0, 0)
    opened = browser.windows[-1]
    qtbot.addWidget(opened)
    qtbot.waitExposed(opened)
    return opened


def at(written: fixtures.RecordedReview, seconds: float) -> int:
    return written.t0_us + round(seconds * S)


def test_the_browser_lists_the_session_by_patient_date_protocol_and_status(browser: SessionBrowser) -> None:
    cells = [browser.table.item(0, c).text() for c in range(browser.table.columnCount())]
    assert cells[0] == fixtures.PATIENT
    assert cells[4] == "iv-infusion" and cells[7] == "ended"
    assert cells[3] == "40 min 01 s"
    browser.patient.setText("kap-99")
    assert browser.table.rowCount() == 0
    browser.patient.setText("kap-00")
    assert browser.table.rowCount() == 1
    browser.status.setCurrentText("signed")
    assert browser.table.rowCount() == 0


def test_a_session_that_cannot_be_opened_says_so_in_the_browser(browser: SessionBrowser) -> None:
    assert browser.open_session(999) is None
    assert "Session 999 cannot be opened: no session 999" in browser.hint.text()


def test_a_session_without_recorded_data_opens_with_its_record(qtbot: QtBot, engine: Engine) -> None:
    empty = SessionRepository(engine).start_session("KAP-0100", "iv-infusion")
    window = ReviewWindow(load_session(engine, empty), records=ClinicRecords(engine), author="Dr. A. Lee", theme=DARK)
    qtbot.addWidget(window)
    assert window.tracks.row_metrics == [()]
    assert window.tracks.titles[0].item.toPlainText() == "Nothing was recorded in this session"
    assert window.jump() is None
    window.user = clinician(engine)
    assert not window.sign(password=CLINICIAN_PASSWORD)  # still recording: refused in words
    assert "still recording" in window.sign_off.problem.text()
    SessionRepository(engine).end_session(empty)
    assert window.sign(password=CLINICIAN_PASSWORD)


def test_filters_by_day_protocol_and_status_keep_the_newest_first() -> None:
    from datetime import datetime

    def row(sid: int, day: int, protocol: str, status: str) -> SessionRow:
        return SessionRow(sid, f"KAP-{sid}", datetime(2025, 11, day, 9), 3600.0, protocol, "1", "RN", status)

    rows = [row(1, 3, "im-ketamine", "signed"), row(2, 5, "iv-infusion", "ended"), row(3, 9, "iv-infusion", "signed")]
    assert [r.id for r in matching(rows)] == [3, 2, 1]
    assert [r.id for r in matching(rows, first_day=date(2025, 11, 4), last_day=date(2025, 11, 8))] == [2]
    assert [r.id for r in matching(rows, protocol="iv-infusion", status="signed")] == [3]


def test_every_track_is_drawn_on_one_time_axis_with_holes_left_open(window: ReviewWindow) -> None:
    assert window.tracks.row_metrics == [
        ("pleth",),
        ("spo2",),
        ("pulse_rate",),
        ("nibp_systolic", "nibp_diastolic", "nibp_mean"),
        ("cuff_pressure",),
        ("perfusion_index",),
    ]
    first = window.tracks.rows[0].getViewBox()
    assert all(p.getViewBox().linkedView(0) is first for p in window.tracks.rows[1:])
    assert window.lane.getPlotItem().getViewBox().linkedView(0) is first
    for curve, series in window.tracks.curves:
        if series.metric.startswith("nibp_") or series.device == fixtures.CUFF and series.metric == "pulse_rate":
            # a few points with symbols, joined only across no hole
            assert isinstance(curve, pg.PlotDataItem) and curve.opts["connect"] == "finite"
        else:  # continuous traces: one span per pixel column
            assert isinstance(curve, TraceItem)
        assert curve.opts["pen"].width() <= 1 if isinstance(curve, pg.PlotDataItem) else curve.pen.width() <= 1
    pleth = next(c for c, s in window.tracks.curves if s.metric == "pleth")
    assert np.isnan(pleth.v).sum() == 2  # the probe-off and the pulled cable


def test_the_cursors_read_each_track_and_their_difference(
    qtbot: QtBot, window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    window.set_cursors(at(written, 1490), at(written, 1520))  # into the 89 % desaturation at 25:00
    readout = window.readout
    assert "B \u2212 A 30 s" in readout.times.text()
    assert readout.cell("spo2", 1) == f"{fixtures.spo2_at(1490):.0f}"
    assert readout.cell("spo2", 2) == "89"
    assert readout.cell("spo2", 3) == f"{89 - fixtures.spo2_at(1490):+.0f}"
    # Dragging the line in one row moves the cursor in every row, and the readout follows.
    spo2_row = window.tracks.row_metrics.index(("spo2",))
    window.tracks.cursors[1].lines[spo2_row].setValue(at(written, 1590) / S)
    assert window.tracks.cursors[1].lines[0].value() == pytest.approx(at(written, 1590) / S)
    assert readout.cell("spo2", 2) == f"{fixtures.spo2_at(1590):.0f}"


def test_a_cursor_in_a_hole_reads_no_value(window: ReviewWindow, written: fixtures.RecordedReview) -> None:
    gap_start, _ = written.gaps_s[1]
    window.set_cursors(at(written, gap_start + 60), at(written, 100))
    assert window.readout.cell("spo2", 1) == "\u2014"
    assert window.readout.cell("perfusion_index", 1) == "\u2014"
    assert window.readout.cell("spo2", 3) == "\u2014"


def test_every_track_is_named_by_its_metric_and_where_two_devices_give_it_by_the_device_model(
    window: ReviewWindow,
) -> None:
    assert window.readout.column(0) == [
        "SpO\u2082 %",
        "Pulse bpm\nNonin oximeter",
        "Pulse bpm\nSunTech Advantage",
        "Systolic mmHg",
        "Diastolic mmHg",
        "Mean mmHg",
        "Cuff inflation mmHg",
        "PI %",
    ]  # no pleth: a waveform in relative units has no value to read at a cursor
    pulse_row = window.tracks.row_metrics.index(("pulse_rate",))
    assert window.tracks.titles[pulse_row].item.toPlainText() == (
        "Pulse bpm: Nonin oximeter (line), SunTech Advantage (squares)"
    )
    assert [t.item.toPlainText() for t in window.tracks.titles].count("SpO\u2082 %") == 1


def test_the_cuff_inflation_pressure_is_not_a_blood_pressure_in_the_statistics(
    window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    window.select_range(written.t0_us, written.t0_us + written.duration_s * S)
    names = window.statistics.column(0)
    assert "Cuff inflation mmHg" not in names and not any(n.startswith("Pleth") for n in names)
    assert names[3:6] == ["Systolic mmHg", "Diastolic mmHg", "Mean mmHg"]
    lowest = min(fixtures.bp_at(s)[0] for s in range(60, DURATION_S, fixtures.BP_EVERY_S))
    assert window.statistics.cell("nibp_systolic", 1) == f"{lowest:.0f}"


def test_the_pleth_is_relative_and_drawn_as_its_envelope_until_zoomed_in(
    qtbot: QtBot, window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    pleth = next(c for c, s in window.tracks.curves if s.metric == "pleth")
    assert isinstance(pleth, TraceItem)
    assert np.nanpercentile(pleth.v, [1, 99]) == pytest.approx([0.0, 100.0], abs=0.5)
    assert window.tracks.titles[0].item.toPlainText() == "Pleth (relative)"
    axis = window.tracks.rows[0].getAxis("left")
    assert [label for _, label in axis._tickLevels[0]] == ["0", "50", "100"]
    assert pleth.drawn_as_envelope()  # the whole session: the band the wave filled
    assert len(pleth.envelope()) == 3  # broken by the probe-off and the pulled cable
    window.select_range(at(written, 600), at(written, 610))
    assert not pleth.drawn_as_envelope()  # ten seconds: the wave itself


def test_the_header_names_room_and_nurse_from_the_session_and_says_when_none_was_recorded(
    qtbot: QtBot, window: ReviewWindow, engine: Engine
) -> None:
    assert f"room 3  \u00b7  nurse {fixtures.NURSE}" in window.header.text()
    bare = SessionRepository(engine).start_session("KAP-0101", "iv-infusion")
    other = ReviewWindow(load_session(engine, bare), records=ClinicRecords(engine), theme=DARK)
    qtbot.addWidget(other)
    assert "no room recorded  \u00b7  no nurse recorded" in other.header.text()
    assert "?" not in other.header.text()
    assert "IV ketamine infusion" in other.header.text()  # the protocol's title, not its file name


def test_the_header_takes_a_room_as_it_was_typed(qtbot: QtBot, engine: Engine) -> None:
    typed = SessionRepository(engine).start_session("KAP-0102", "", room="Room 3")
    window = ReviewWindow(load_session(engine, typed), records=ClinicRecords(engine), theme=DARK)
    qtbot.addWidget(window)
    assert "no protocol  \u00b7  Room 3  \u00b7  no nurse recorded" in window.header.text()


def test_a_selected_range_shows_its_statistics(
    qtbot: QtBot, window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    window.select_range(at(written, 1440), at(written, 1590))  # 24:00 to 26:30, the desaturation inside
    assert window.tracks.detail_range() == pytest.approx((at(written, 1440) / S, at(written, 1590) / S))
    stats = window.statistics
    assert stats.cell("spo2", 1) == "89"  # min
    assert stats.cell("spo2", 2) == f"{max(fixtures.spo2_at(s) for s in range(1440, 1590)):.0f}"
    assert stats.cell("spo2", 4) == "2 min 30 s"  # measured
    assert stats.below.text().startswith("1 min 30 s")
    stats.threshold.setValue(85)
    assert stats.below.text().startswith("0 s")
    systolic = fixtures.bp_at(1560)[0]  # the one cuff reading inside the range
    assert f"Peak BP {systolic:.0f}/" in stats.peak.text()
    assert "after the first dose" in stats.peak.text()


def test_dragging_the_overview_region_moves_the_detail_view(
    qtbot: QtBot, window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    window.tracks.region.setRegion((at(written, 600) / S, at(written, 900) / S))
    assert window.tracks.detail_range() == pytest.approx((at(written, 600) / S, at(written, 900) / S))
    qtbot.waitUntil(lambda: "(5 min 00 s)" in window.statistics.range_label.text(), timeout=2000)


def test_n_and_p_step_cursor_a_through_events_and_alarms(
    qtbot: QtBot, window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    window.set_cursors(at(written, 1400), at(written, 1700))
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert window.tracks.cursor_times_us()[0] == at(written, 1500)  # the desaturation alarm's onset
    assert "alarm" in window.event_label.text() and "spo2_low" in window.event_label.text()
    qtbot.keyClick(window, Qt.Key.Key_N)
    assert "note" in window.event_label.text()  # the nurse's note about it
    qtbot.keyClick(window, Qt.Key.Key_P)
    assert window.tracks.cursor_times_us()[0] == at(written, 1500)
    window.tracks.show_range(at(written, 0) / S, at(written, 300) / S)
    window.set_cursors(at(written, 290), at(written, 295))
    assert window.jump(forward=True).text.startswith("MOAA/S 5")  # type: ignore[union-attr]
    low, high = window.tracks.detail_range()  # the view came along to the event at 10:00, outside it
    assert low < at(written, 600) / S < high
    assert high - low == pytest.approx(300)
    window.set_cursors(at(written, 2300), at(written, 2350))
    assert window.jump(forward=True) is None
    assert window.event_label.text() == "No further events"


def test_the_event_lane_shows_doses_ratings_notes_and_alarms(
    window: ReviewWindow, written: fixtures.RecordedReview
) -> None:
    kinds = {m.kind for m in window.lane.marks}
    assert {"infusion", "bolus", "rating", "note", "quick-event"} <= kinds
    assert len(window.lane.bars) == 2  # 0.6 then 0.9 mg/kg/h
    assert [a.alarm for a in window.lane.alarms] == ["no_data", "spo2_low", "no_data"]  # onsets, not clearings
    assert len(written.alarms) == 6
    t = window.lane.alarms[1].t_us / S
    assert "spo2_low" in window.lane.detail_near(t, ALARM_ROW)


def test_signing_locks_the_record_and_later_changes_are_addenda(
    qtbot: QtBot, window: ReviewWindow, engine: Engine, browser: SessionBrowser, written: fixtures.RecordedReview
) -> None:
    panel = window.sign_off
    window.user = clinician(engine)
    asked: list[str] = []

    def confirm(_parent: object, info: SessionInfo, who: str) -> str:
        asked.append(f"{info.patient} {info.id} {who}")
        return CLINICIAN_PASSWORD

    window.ask_password = confirm
    window._show_record()
    assert not panel.add_button.isEnabled()
    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    assert asked == [f"{fixtures.PATIENT} {written.session_id} dr.lee"]  # the confirmation named who and which
    assert panel.status.text().startswith("Signed by dr.lee")
    assert not panel.sign_button.isEnabled() and panel.add_button.isEnabled()
    stored = ClinicalLog.load(engine, written.session_id)
    assert stored.signed == SignOff(t_us=CLOCK_US, entered_us=CLOCK_US, author="dr.lee")
    assert SessionRepository(engine).session_detail(written.session_id)["status"] == "signed"

    qtbot.keyClicks(panel.addendum_text, "Ondansetron was 4 mg IV, not oral")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert "reason" in panel.problem.text()  # a reason is required: nothing stored
    qtbot.keyClicks(panel.addendum_reason, "route entered wrongly")
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert panel.problem.text() == ""
    assert panel.addenda.count() == 1
    assert (
        "dr.lee: Ondansetron was 4 mg IV, not oral (reason: route entered wrongly)" in panel.addenda.item(0).text()
    )
    addenda = [e for e in ClinicalLog.load(engine, written.session_id).log if isinstance(e, Addendum)]
    assert [(a.author, a.entered_us) for a in addenda] == [("dr.lee", CLOCK_US)]
    assert isinstance(window.data.record.log[-1], Addendum)  # exports from this window carry it too

    browser.reload()
    browser.status.setCurrentText("signed")
    browser.table.cellDoubleClicked.emit(0, 0)
    reopened = browser.windows[-1]
    qtbot.addWidget(reopened)
    assert reopened.sign_off.addenda.count() == 1
    assert not reopened.sign_off.sign_button.isEnabled()


def test_signing_needs_a_login_and_the_password_again(
    qtbot: QtBot, window: ReviewWindow, engine: Engine, written  # noqa: ANN001
) -> None:
    assert window.sign() is False
    assert "Log in as a clinician" in window.sign_off.problem.text()
    assert not window.sign_off.sign_button.isEnabled()
    window.user = clinician(engine)
    window.ask_password = lambda *_: None  # the confirmation cancelled
    assert window.sign() is False
    assert window.sign(password="not-her-password") is False
    assert "wrong user name or password" in window.sign_off.problem.text()
    assert ClinicalLog.load(engine, written.session_id).signed is None


def test_a_logged_in_nurse_cannot_sign_and_a_clinician_signs_in_their_own_name(
    window: ReviewWindow, engine: Engine, written  # noqa: ANN001
) -> None:
    from kapmonitor.core.access import User
    from kapmonitor.store.audit import AuditTrail

    clinician(engine)
    window.user = User("rn.kim", frozenset({"nurse"}))
    assert window.sign(password="kim-password") is False
    assert "clinician" in window.sign_off.problem.text()
    assert ClinicalLog.load(engine, written.session_id).signed is None

    window.user = User("dr.lee", frozenset({"clinician"}))
    assert window.sign(password=CLINICIAN_PASSWORD) is True
    assert ClinicalLog.load(engine, written.session_id).signed.author == "dr.lee"
    trail = AuditTrail(engine)
    assert [e.user for e in trail.entries() if e.action == "session.sign"] == ["dr.lee"]
    assert trail.verify().intact


@pytest.mark.parametrize("format_name", ["csv", "pdf", "edf", "fhir"])
def test_exports_from_the_menu_write_the_files(window: ReviewWindow, tmp_path: Path, format_name: str) -> None:
    window.choose_path = lambda _format, suggested: tmp_path / suggested
    window.export_actions[format_name].trigger()
    written = [p for p in tmp_path.iterdir() if p.stat().st_size > 0]
    assert written, window.status_label.text()
    assert window.status_label.text().startswith("Written: ")


def test_an_export_of_an_edited_record_is_written_with_a_warning(
    window: ReviewWindow, engine: Engine, tmp_path: Path
) -> None:
    window.choose_path = lambda _format, suggested: tmp_path / suggested
    assert window.export("pdf") and window.status_label.text() == f"Written: {tmp_path / 'session-1.pdf'}"
    with engine.begin() as conn:  # someone holding the file removes a note, its triggers first
        for trigger in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars().all():
            conn.execute(text(f"DROP TRIGGER {trigger}"))
        conn.execute(text("DELETE FROM clinical_entry WHERE kind = 'note'"))
    assert window.export("pdf")
    said = window.status_label.text()
    assert said.startswith(f"Written: {tmp_path / 'session-1.pdf'}. Warning: the audit trail does not vouch")
    assert "(note by " in said and "deleted: the row is gone" in said


def test_a_cancelled_or_failed_export_writes_nothing(window: ReviewWindow, tmp_path: Path) -> None:
    window.choose_path = lambda _format, _suggested: None
    assert window.export("pdf") == []
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    window.choose_path = lambda _format, suggested: blocker / suggested
    assert window.export("pdf") == []
    assert window.status_label.text().startswith("The pdf export was not written")


def test_both_themes_apply(window: ReviewWindow) -> None:
    window.apply_theme(LIGHT)
    assert window.tracks.backgroundBrush().color().name() == LIGHT.panel
    window.apply_theme(DARK)
    assert window.tracks.backgroundBrush().color().name() == DARK.panel


def test_the_main_windows_review_menu_opens_the_session_browser(qtbot: QtBot, engine: Engine, tmp_path: Path) -> None:
    station = StationDouble(records=ClinicRecords(engine))
    main = MainWindow(station, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(main)
    main.plot_timer.stop()
    main.status_timer.stop()
    main.review_action.trigger()
    assert isinstance(main.session_browser, SessionBrowser)
    qtbot.addWidget(main.session_browser)
    assert main.session_browser.table.rowCount() == 1

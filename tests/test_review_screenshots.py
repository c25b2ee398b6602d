"""The review window as a clinician sees it: the whole session, and zoomed into the first dose after signing.

`make screenshots` (KAPMONITOR_SCREENSHOTS=1) records a 4-hour session and writes docs/screenshots/
review-session.png, review-zoom.png and review-zoom-light.png at 1920x1080 and the same names with -laptop at
1366x768; a plain test run renders a 40-minute session into a temporary directory. Both check that the window
fits each screen with nothing cut off and the curves drawn in their colours.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clinician_support import CLINICIAN_PASSWORD, clinician
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from screen_fit import DESK, LAPTOP, fits
from test_ui_screenshots import pixels_near

from bench import fixtures
from kapmonitor.bed.records import ClinicRecords
from kapmonitor.store.db import open_database
from kapmonitor.ui.review.window import ReviewWindow, open_review
from kapmonitor.ui.theme import DARK, LIGHT, Theme

S = 1_000_000
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
FOR_DOCS = bool(os.environ.get("KAPMONITOR_SCREENSHOTS"))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, fixtures.RecordedReview]:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('shots') / 'review.sqlite'}")
    return engine, fixtures.record_review_session(engine, 4 * 3600 if FOR_DOCS else 40 * 60)


def _window(
    qtbot: QtBot, recorded: tuple[object, fixtures.RecordedReview], theme: Theme, size: tuple[int, int]
) -> ReviewWindow:
    engine, written = recorded
    clock = written.t0_us + written.duration_s * S + 20 * 60 * S
    window = open_review(
        ClinicRecords(engine),
        written.session_id,
        author="Dr. A. Lee",
        alarms=written.alarms,
        theme=theme,
        clock=lambda: clock,
    )  # type: ignore[arg-type]
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    assert fits(window, size) == []
    return window


def _save(window: ReviewWindow, name: str, tmp_path: Path) -> QImage:
    QApplication.processEvents()
    window.refresh_statistics()
    QApplication.processEvents()
    assert fits(window, (window.width(), window.height())) == []  # the statistics' new texts fit too
    if window.width() == LAPTOP[0]:
        name = name.replace(".png", "-laptop.png")
    target = (DOCS if FOR_DOCS else tmp_path) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(target))
    return QImage(str(target))


@pytest.mark.parametrize("size", [LAPTOP, DESK], ids=["1366x768", "1920x1080"])
def test_the_whole_session(
    qtbot: QtBot, recorded: tuple[object, fixtures.RecordedReview], tmp_path: Path, size: tuple[int, int]
) -> None:
    window = _window(qtbot, recorded, DARK, size)
    _, written = recorded
    window.set_cursors(written.t0_us + 25 * 60 * S, written.t0_us + 60 * 60 * S)
    image = _save(window, "review-session.png", tmp_path)
    pleth = next(c for c, s in window.tracks.curves if s.metric == "pleth")
    assert pleth.drawn_as_envelope()  # not a solid block of device counts
    assert pixels_near(image, DARK.pleth) > 200  # its edges
    assert pixels_near(image, DARK.systolic) > 50
    assert window.statistics.peak.text().startswith("Peak BP ")
    assert window.statistics.peak.geometry().right() <= window.statistics.contentsRect().right()


@pytest.mark.parametrize("size", [LAPTOP, DESK], ids=["1366x768", "1920x1080"])
@pytest.mark.parametrize(("theme", "name"), [(DARK, "review-zoom.png"), (LIGHT, "review-zoom-light.png")])
def test_zoomed_into_the_first_dose_after_signing(
    qtbot: QtBot,
    recorded: tuple[object, fixtures.RecordedReview],
    tmp_path: Path,
    theme: Theme,
    name: str,
    size: tuple[int, int],
) -> None:
    window = _window(qtbot, recorded, theme, size)
    _, written = recorded
    dose = written.t0_us + fixtures.INFUSION_START_S * S
    window.select_range(dose - 40 * S, dose + 50 * S)
    window.set_cursors(dose - 20 * S, dose + 30 * S)
    if window.data.record.signed is None:
        window.user = clinician(recorded[0])  # type: ignore[arg-type]
        assert window.sign(password=CLINICIAN_PASSWORD)
        assert window.add_addendum("Infusion pump checked after the session: rate as recorded", "pump audit")
    image = _save(window, name, tmp_path)
    assert pixels_near(image, theme.pleth) > 500
    assert window.sign_off.addenda.count() == 1

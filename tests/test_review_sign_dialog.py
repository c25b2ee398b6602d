"""The confirmation before a record is signed, through the real dialog: "Sign the record" in Review opens it, it
names the patient, the session, the protocol in the clinic's words and the signer, the password typed again signs.
It is grabbed over the Review window at 1366x768 and 1920x1080 (`make screenshots`, KAPMONITOR_SCREENSHOTS=1,
writes docs/screenshots/sign-dialog-1366x768.png and -1920x1080.png; a plain run writes a temporary folder)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from clinician_support import CLINICIAN_PASSWORD, clinician
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, clipped_labels, fits, outside
from sqlalchemy import Engine

from bench import fixtures
from kapmonitor.bed.records import ClinicRecords
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import engine_for, open_database
from kapmonitor.ui.review.session_browser import SessionBrowser
from kapmonitor.ui.review.sign_dialog import SignDialog
from kapmonitor.ui.review.window import ReviewWindow
from kapmonitor.ui.theme import DARK

S = 1_000_000
CLOCK_US = fixtures.T0 + 3 * 3600 * S
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    path = tmp_path / "recorded.sqlite"
    made = open_database(f"sqlite:///{path}")
    fixtures.record_review_session(made, 10 * 60)
    made.dispose()
    engine = engine_for(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def review(qtbot: QtBot, engine: Engine) -> ReviewWindow:
    browser = SessionBrowser(ClinicRecords(engine), author="dr.lee", theme=DARK, clock=lambda: CLOCK_US)
    qtbot.addWidget(browser)
    browser.table.cellDoubleClicked.emit(0, 0)
    opened = browser.windows[-1]
    qtbot.addWidget(opened)
    opened.user = clinician(engine)
    opened._show_record()
    qtbot.waitExposed(opened)
    return opened


def on_screen(window: ReviewWindow, dialog: SignDialog) -> QImage:
    """The screen as the clinician sees it: the Review window, the dialog centred over it."""
    image = window.grab().toImage()
    shot = dialog.grab().toImage()
    painter = QPainter(image)
    corner = QPoint((image.width() - shot.width()) // 2, (image.height() - shot.height()) // 2)
    painter.drawImage(corner, shot)
    painter.setPen(QColor("#8a94a3"))  # where the window manager draws the dialog's frame
    painter.drawRect(corner.x() - 1, corner.y() - 1, shot.width() + 1, shot.height() + 1)
    painter.end()
    return image


def test_signing_asks_in_a_dialog_that_reads_whole_on_both_screens(
    qtbot: QtBot, review: ReviewWindow, engine: Engine, tmp_path: Path
) -> None:
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, object] = {}

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, SignDialog)
        seen["question"] = dialog.question.text()
        seen["details"] = dialog.details.text()
        seen["note"] = dialog.note.text()
        seen["px"] = [w.fontInfo().pixelSize() for w in (dialog.question, dialog.details, dialog.password)]
        seen["sign enabled before typing"] = dialog.sign_button.isEnabled()
        qtbot.keyClicks(dialog.password, CLINICIAN_PASSWORD)
        for width, height in SCREENS:
            assert fits(review, (width, height)) == []
            QApplication.processEvents()
            hint = dialog.minimumSizeHint()
            assert hint.width() <= width and hint.height() <= height
            seen[f"outside {width}"] = outside(dialog) + clipped_labels(dialog)
            assert on_screen(review, dialog).save(str(out / f"sign-dialog-{width}x{height}.png"))
        seen["button"] = dialog.sign_button.text()
        qtbot.mouseClick(dialog.sign_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, answer)
    qtbot.mouseClick(review.sign_off.sign_button, Qt.MouseButton.LeftButton)

    assert seen["question"] == f"Sign session {review.data.info.id} of patient {fixtures.PATIENT} as dr.lee?"
    assert str(seen["details"]).startswith("IV ketamine infusion, ")  # the clinic's words, not "iv-infusion"
    assert str(seen["note"]).startswith("Signing locks the record: later changes are addenda")
    assert seen["px"] == [19, 16, 16]  # read at a glance, not the 13 px of the window's small print
    assert seen["sign enabled before typing"] is False
    assert seen["button"] == "Sign as dr.lee"
    assert seen["outside 1366"] == [] and seen["outside 1920"] == []
    assert review.sign_off.status.text().startswith("Signed by dr.lee")
    assert ClinicalLog.load(engine, review.data.info.id).signed is not None


@pytest.mark.parametrize("patient", [fixtures.PATIENT, "KAP-" + "9" * 36], ids=["usual", "longest ID"])
def test_the_dialogs_words_are_whole_at_its_least_size(qtbot: QtBot, review: ReviewWindow, patient: str) -> None:
    """Made as small as a window manager lets it be, nothing is cut: the question wraps onto a line of its own."""
    info = dataclasses.replace(review.data.info, patient=patient)
    dialog = SignDialog(info, "dr.lee", review)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSize())
    QApplication.processEvents()
    assert dialog.size() == dialog.minimumSize()
    for label in dialog.findChildren(QLabel):
        if label.isVisible() and label.wordWrap():
            needed = label.heightForWidth(label.contentsRect().width())
            assert needed <= label.contentsRect().height() + 1, label.text()
    assert outside(dialog) == [] and clipped_labels(dialog) == []
    assert patient in dialog.question.text()

"""What "fits the screen" means in the tests: the window takes the screen's size (its minimum is no larger), every
visible control lies inside it (inside its scroll area's sides, where it has one: scrolling down is fine,
sideways is not), and no table cell is elided.

The two screens every window is grabbed at: a 1366x768 laptop and a 1920x1080 desk monitor.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableWidget,
    QWidget,
)

LAPTOP = (1366, 768)
DESK = (1920, 1080)
SCREENS = (LAPTOP, DESK)
CELL_PADDING = 4  # the item view's text margins, both sides (wider text is elided with "...")
CONTROLS = (QAbstractButton, QLabel, QLineEdit, QComboBox, QSpinBox, QTableWidget)


def shown_at(window: QWidget, size: tuple[int, int]) -> None:
    """Resize to ``size`` as a window manager would on that screen, and let the layouts settle."""
    window.resize(*size)
    for _ in range(5):  # a resize, the layouts it posts, the numbers refitted to their tiles, their layouts
        QApplication.processEvents()


def _scroll_area(widget: QWidget, window: QWidget) -> QAbstractScrollArea | None:
    """The scroll area ``widget`` is shown in, if any: reachable by scrolling that way, not held to the window."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(widget, QAbstractScrollArea):
            return parent
        parent = parent.parentWidget()
    return None


def outside(window: QWidget) -> list[str]:
    """Every visible control not wholly inside the window (cut off at its edge, or beyond it)."""
    bounds = window.rect()
    found = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or not widget.isVisible():
            continue
        if widget.width() <= 0 or widget.height() <= 0:
            continue
        where = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        area = _scroll_area(widget, window)
        if area is not None:  # it may scroll into view up or down, never sideways: the viewport's sides hold
            port = QRect(area.viewport().mapTo(window, QPoint(0, 0)), area.viewport().size())
            if QRect(port.left(), where.top(), port.width(), where.height()).contains(where):
                continue
        elif bounds.contains(where):
            continue
        name = widget.text() if hasattr(widget, "text") else type(widget).__name__
        found.append(f"{type(widget).__name__} {name!r} at {where.getRect()} in {bounds.getRect()}")
    return found


def clipped_labels(window: QWidget) -> list[str]:
    """Visible one-line labels whose text is wider than the label: cut off at its edge."""
    found = []
    for label in window.findChildren(QLabel):
        text = label.text()
        if not label.isVisible() or not text or label.wordWrap() or label.textFormat() == Qt.TextFormat.RichText:
            continue
        if "<" in text and label.textFormat() != Qt.TextFormat.PlainText:  # markup: its own layout
            continue
        metrics = QFontMetrics(label.font())
        widest = max(metrics.horizontalAdvance(line) for line in text.split("\n"))
        if widest > label.contentsRect().width() + 1:
            found.append(f"label {text!r} needs {widest} px, has {label.contentsRect().width()}")
    return found


def elided_cells(table: QTableWidget) -> list[str]:
    """Cells whose text (any line of it) is wider than its column."""
    metrics = QFontMetrics(table.font())
    found = []
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            item = table.item(row, column)
            if item is None:
                continue
            widest = max(metrics.horizontalAdvance(line) for line in item.text().split("\n"))
            if widest + CELL_PADDING > table.columnWidth(column):
                found.append(f"{item.text()!r} in a {table.columnWidth(column)} px column")
    return found


def fits(window: QWidget, size: tuple[int, int]) -> list[str]:
    """What does not fit when ``window`` is shown on a screen of ``size``; empty when it all fits."""
    shown_at(window, size)
    problems = []
    if (window.width(), window.height()) != size:
        hint = window.minimumSizeHint()
        problems.append(f"the window is {window.width()}x{window.height()} (minimum {hint.width()}x{hint.height()})")
    problems += outside(window)
    problems += clipped_labels(window)
    for table in window.findChildren(QTableWidget):
        if table.isVisible():
            problems += elided_cells(table)
    return problems


def grab(window: QWidget, path: Path) -> QImage:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = window.grab().toImage()
    assert image.save(str(path))
    return image

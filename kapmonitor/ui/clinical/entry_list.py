"""The session's entries, newest first, and corrections: an amendment or a void keeps the original.

Only fields a nurse would correct are offered; a rating's answers are voided and entered again (the record
refuses to amend them).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.session.entries import BolusDose, Entry, InfusionEvent, IntranasalDevice, Note, QuickEvent
from kapmonitor.session.timeline import CurrentEntry
from kapmonitor.session.wording import entry_words, record_words
from kapmonitor.ui.clinical.context import ClinicalContext, refusal
from kapmonitor.ui.widgets.tiles import clock_text

CORRECTABLE: dict[type, tuple[str, ...]] = {
    Note: ("text",),
    BolusDose: ("mg", "site", "lot"),
    IntranasalDevice: ("lot", "mg"),
    InfusionEvent: ("rate", "lot"),
    QuickEvent: ("label",),
}


def describe(entry: Entry) -> str:
    """One line for the list, in the clinic's words (as the lanes, the PDF and the CSV say it)."""
    return entry_words(entry)


def parse_as(current: object, text: str) -> object:
    """The typed text as the kind of value the field holds now (a number stays a number)."""
    if isinstance(current, float | int) and not isinstance(current, bool):
        return float(text)
    return text


class EntryList(QWidget):
    entered = Signal()

    def __init__(self, ctx: ClinicalContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.entries: list[CurrentEntry] = []
        self.list = QListWidget()
        self.list.setWordWrap(True)  # a long entry wraps instead of running off the dock's edge
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.currentRowChanged.connect(self._selected)
        self.field = QComboBox()
        self.value = QLineEdit(placeholderText="corrected value")
        self.reason = QLineEdit(placeholderText="reason for the correction")
        self.amend_button = QPushButton("Amend")
        self.amend_button.clicked.connect(self.amend)
        self.void_button = QPushButton("Void (entered in error)")
        self.void_button.clicked.connect(self.void)
        self.message = QLabel("")
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        grid = QGridLayout()
        grid.addWidget(self.field, 0, 0)
        grid.addWidget(self.value, 0, 1)
        grid.addWidget(self.reason, 1, 0, 1, 2)
        grid.addWidget(self.amend_button, 2, 0)
        grid.addWidget(self.void_button, 2, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(grid)
        layout.addWidget(self.message)
        self.refresh()

    def refresh(self) -> None:
        ref = self.selected_ref()
        self.entries = list(reversed(self.ctx.record.current()))
        words = record_words(self.ctx.record)
        self.list.blockSignals(True)
        self.list.clear()
        for current in self.entries:
            tag = " [voided]" if current.void else (" [amended]" if current.amendments else "")
            line = f"{clock_text(current.entry.t_us)}  {words[current.ref]}{tag}  ({current.entry.author})"
            item = QListWidgetItem(line)
            item.setToolTip(line)
            if current.void:
                font = QFont()
                font.setStrikeOut(True)
                item.setFont(font)
            item.setData(Qt.ItemDataRole.UserRole, current.ref)
            self.list.addItem(item)
        self.list.blockSignals(False)
        refs = [c.ref for c in self.entries]
        self.list.setCurrentRow(refs.index(ref) if ref in refs else -1)
        self._selected()

    def select_ref(self, ref: int) -> None:
        self.list.setCurrentRow([c.ref for c in self.entries].index(ref))

    def selected_ref(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(Qt.ItemDataRole.UserRole))

    def _selected(self) -> None:
        current = next((c for c in self.entries if c.ref == self.selected_ref()), None)
        self.field.clear()
        fields = CORRECTABLE.get(type(current.entry), ()) if current else ()
        self.field.addItems(list(fields))
        self.amend_button.setEnabled(bool(fields))
        self.void_button.setEnabled(current is not None and not current.void)

    def amend(self) -> None:
        ref = self.selected_ref()
        current = next((c for c in self.entries if c.ref == ref), None)
        if ref is None or current is None or not self.field.currentText():
            return
        name = self.field.currentText()
        try:
            value = parse_as(getattr(current.entry, name), self.value.text().strip())
        except ValueError:
            self.message.setText(f"{name} must be a number, not {self.value.text()!r}")
            return
        self._amend(ref, {name: value}, void=False)

    def void(self) -> None:
        ref = self.selected_ref()
        if ref is not None:
            self._amend(ref, {}, void=True)

    def _amend(self, ref: int, changes: dict[str, object], *, void: bool) -> None:
        try:
            self.ctx.record.amend(
                ref,
                changes,
                author=self.ctx.author,
                reason=self.reason.text().strip(),
                entered_us=self.ctx.clock(),
                void=void,
            )
        except Exception as exc:  # refused, or the store failed: say why, keep the typing
            self.message.setText(refusal(exc))
            return
        self.message.setText("")
        self.value.clear()
        self.reason.clear()
        self.refresh()
        self.entered.emit()

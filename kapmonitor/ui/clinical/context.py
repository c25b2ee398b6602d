"""What every clinical panel shares: the record it writes to, the protocol, the clock and who is typing.

``record`` is anything with the ``SessionRecord`` API: an in-memory ``SessionRecord`` in tests, the store's
``ClinicalLog`` (which persists each entry before returning) in the running app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel

from kapmonitor.core.access import User
from kapmonitor.core.errors import UserError
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import US_PER_MIN
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import EntryError, SessionRecord
from kapmonitor.ui.theme import Theme


def _no_readings() -> list[Reading]:
    return []


def _nobody() -> User | None:
    return None


@dataclass
class ClinicalContext:
    record: SessionRecord
    template: ProtocolTemplate
    clock: Callable[[], int]
    author: str
    session_start_us: int
    readings: Callable[[], list[Reading]] = field(default=_no_readings)  # recorded NIBP and SpO2
    user: Callable[[], User | None] = field(default=_nobody)  # who is logged in (None: a window without logins)
    rems_pdf: Callable[[Path], list[Path]] | None = None  # writes this session's REMS form (None: no database)

    def acting_user(self) -> User:
        """Who the entries are by: the logged-in user, or (no logins) the author as a nurse."""
        return self.user() or User(self.author, frozenset({"nurse"}))


def refusal(exc: Exception) -> str:
    """What to tell the nurse when an entry was not taken: the record's own reason, or that the store
    could not save it (the panel keeps what was typed so nothing is lost)."""
    if isinstance(exc, EntryError | UserError):
        return str(exc)
    return f"Not saved, try again: {exc}"


def minutes_text(us: int) -> str:
    """A countdown as m:ss."""
    seconds = max(0, round(us / 1_000_000))
    return f"{seconds // 60}:{seconds % 60:02d}"


def minutes_between(later_us: int, earlier_us: int) -> float:
    return (later_us - earlier_us) / US_PER_MIN


def big_label(text: str = "", px: int = 20, bold: bool = True) -> QLabel:
    label = QLabel(text)
    font = QFont()
    font.setPixelSize(px)
    font.setBold(bold)
    label.setFont(font)
    return label


def panel_stylesheet(theme: Theme) -> str:
    """Style for the clinical dock: larger type than the window chrome (read from two metres)."""
    return f"""
    QWidget {{ font-size: 16px; color: {theme.text}; }}
    QDockWidget, QTabWidget::pane, QScrollArea, QWidget#clinicalPage {{ background: {theme.panel}; }}
    QTabWidget::pane {{ border: 1px solid {theme.border}; border-radius: 6px; }}
    QTabBar::tab {{ background: {theme.background}; color: {theme.muted}; padding: 8px 14px;
        border: 1px solid {theme.border}; border-bottom: none; border-top-left-radius: 4px;
        border-top-right-radius: 4px; }}
    QTabBar::tab:selected {{ background: {theme.panel}; color: {theme.text}; }}
    QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox, QListWidget {{ background: {theme.background};
        color: {theme.text}; border: 1px solid {theme.border}; border-radius: 4px; padding: 4px 6px; }}
    QComboBox QAbstractItemView {{ background: {theme.panel}; color: {theme.text}; }}
    QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus {{ border-color: {theme.spo2}; }}
    QPushButton {{ background: {theme.border}; color: {theme.text}; border: 1px solid {theme.border};
        border-radius: 4px; padding: 6px 14px; }}
    QPushButton:disabled {{ color: {theme.stale}; }}
    QPushButton#level {{ background: transparent; border: none; color: {theme.muted}; text-align: left;
        padding: 2px 4px; }}
    QPushButton#level:hover {{ color: {theme.text}; }}
    QLabel#muted {{ color: {theme.muted}; }}
    QLabel#doseTotals {{ font-size: 24px; font-weight: bold; }}
    QLabel#warning {{ color: {theme.warning}; }}
    QLabel#fault {{ color: {theme.fault}; }}
    QLabel#ok {{ color: {theme.ok}; }}
    QListWidget::item:selected {{ background: {theme.border}; color: {theme.text}; }}
    """

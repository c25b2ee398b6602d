"""The monitor's two looks: dark for a dim therapy room, light for a bright office. Kept in QSettings."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings

from kapmonitor.core.paths import config_dir

SETTINGS_KEY = "view/theme"


@dataclass(frozen=True)
class Theme:
    name: str
    background: str  # the window
    panel: str  # tiles, plots, the device strip
    border: str
    text: str  # numbers and labels the nurse reads
    muted: str  # chrome: titles, units, axis labels
    stale: str  # a value too old to trust
    grid_alpha: float
    spo2: str
    pulse: str
    pleth: str
    systolic: str
    diastolic: str
    mean: str
    perfusion: str
    ok: str  # a device streaming
    warning: str  # reconnecting, a quality flag
    fault: str  # failed, disconnected
    banner: str  # the demo banner's background


# Monitor conventions: SpO2 and pleth cyan-ish, pulse green, blood pressure red/amber. The dark theme keeps
# the background near-black and the chrome grey so only the numbers catch the eye in a dim room.
DARK = Theme(
    name="dark",
    background="#0b0e12",
    panel="#12161c",
    border="#232a33",
    text="#e6e9ed",
    muted="#7d8794",
    stale="#565e69",
    grid_alpha=0.12,
    spo2="#4fd1e8",
    pulse="#5fd068",
    pleth="#4fd1e8",
    systolic="#ff6b6b",
    diastolic="#f2a93b",
    mean="#e8d36b",
    perfusion="#b59cf0",
    ok="#5fd068",
    warning="#f2c14e",
    fault="#ff6b6b",
    banner="#6a4a00",
)

LIGHT = Theme(
    name="light",
    background="#eef1f4",
    panel="#ffffff",
    border="#cdd3da",
    text="#111418",
    muted="#5b6470",
    stale="#a3aab3",
    grid_alpha=0.25,
    spo2="#007a99",
    pulse="#1f8a2e",
    pleth="#007a99",
    systolic="#c62828",
    diastolic="#b45f00",
    mean="#8a6d00",
    perfusion="#6a4fb8",
    ok="#1f8a2e",
    warning="#9a6a00",
    fault="#c62828",
    banner="#ffd98a",
)

THEMES: dict[str, Theme] = {DARK.name: DARK, LIGHT.name: LIGHT}


def stylesheet(theme: Theme) -> str:
    """Qt style sheet for the window chrome (tables, docks and scroll bars included: nothing white in a dim
    room); the tiles and plots colour their own contents. Windows add only what is their own."""
    return f"""
    QMainWindow, QDialog, QWidget#central {{ background: {theme.background}; color: {theme.text}; }}
    QWidget {{ color: {theme.text}; }}
    QMenuBar, QMenu {{ background: {theme.panel}; color: {theme.text}; }}
    QMenu::item:selected, QMenuBar::item:selected {{ background: {theme.border}; }}
    QFrame#tile, QFrame#deviceBadge, QFrame#sessionPanel {{
        background: {theme.panel}; border: 1px solid {theme.border}; border-radius: 6px; }}
    QLabel {{ background: transparent; }}
    QLabel#muted {{ color: {theme.muted}; }}
    QLabel#banner {{ background: {theme.banner}; color: {theme.text}; font-weight: bold; font-size: 16px;
        padding: 4px 12px; border-radius: 4px; }}
    QLineEdit, QComboBox, QSpinBox, QDoubleSpinBox {{ background: {theme.background}; color: {theme.text};
        border: 1px solid {theme.border}; border-radius: 4px; padding: 4px 6px; }}
    QLineEdit:disabled, QComboBox:disabled, QSpinBox:disabled, QDoubleSpinBox:disabled {{
        color: {theme.muted}; background: {theme.panel}; }}
    QComboBox QAbstractItemView {{ background: {theme.panel}; color: {theme.text};
        selection-background-color: {theme.border}; }}
    QPushButton {{ background: {theme.border}; color: {theme.text}; border: 1px solid {theme.border};
        border-radius: 4px; padding: 5px 14px; }}
    QPushButton:disabled {{ color: {theme.stale}; }}
    QPushButton:hover {{ border-color: {theme.muted}; }}
    QTableWidget, QListWidget {{ background: {theme.panel}; color: {theme.text}; gridline-color: {theme.border};
        selection-background-color: {theme.border}; selection-color: {theme.text}; }}
    QHeaderView::section, QTableCornerButton::section {{ background: {theme.panel}; color: {theme.muted};
        border: none; border-bottom: 1px solid {theme.border}; padding: 4px; }}
    QScrollBar {{ background: {theme.panel}; width: 12px; height: 12px; }}
    QScrollBar::handle {{ background: {theme.border}; border-radius: 5px; min-height: 24px; min-width: 24px; }}
    QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
    QDockWidget {{ color: {theme.text}; }}
    QDockWidget::title {{ background: {theme.panel}; padding: 4px 8px; }}
    """


def settings() -> QSettings:
    """The UI's settings file, kept in kapmonitor's config directory (so tests get a throw-away one)."""
    return QSettings(str(config_dir() / "ui.ini"), QSettings.Format.IniFormat)


def remembered_theme(store: QSettings) -> Theme:
    name = store.value(SETTINGS_KEY, DARK.name)
    return THEMES.get(str(name), DARK)


def remember_theme(store: QSettings, theme: Theme) -> None:
    store.setValue(SETTINGS_KEY, theme.name)
    store.sync()

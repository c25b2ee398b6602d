"""Changing a label or a style only when it changed: screens refreshed several times a second set the same text
and colours over and over, and Qt lays out and repaints a label on every setText, and re-polishes a widget (the
costliest part of a frame) on every setStyleSheet, even with what it already has."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget


def set_text(label: QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)


def set_style(widget: QWidget, css: str) -> None:
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)

"""Fonts sized in pixels: bedside text is specified by how tall it stands on the screen, not in points."""

from __future__ import annotations

from PySide6.QtGui import QFont


def pixel_font(pixels: int, bold: bool = False) -> QFont:
    """The application's font at ``pixels`` high, bold or not."""
    font = QFont()
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font

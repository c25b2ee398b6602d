"""The raw inspector: the bytes a port delivered, in hex, with the frames decoded from them underneath and
decoding errors in the theme's fault colour, so a technician sees exactly where a stream goes wrong."""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import UTC, datetime

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from kapmonitor.core.readings import DecodeError, LinkEvent, Reading, WaveChunk
from kapmonitor.devices.links.inspection import Entry, RawBytes
from kapmonitor.ui.theme import DARK, Theme

BYTES_PER_LINE = 24
MAX_LINES = 1500


def clock_text(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / 1e6, UTC).astimezone().strftime("%H:%M:%S.%f")[:-3]


def hex_lines(data: bytes) -> list[str]:
    return [data[i : i + BYTES_PER_LINE].hex(" ") for i in range(0, len(data), BYTES_PER_LINE)]


def entry_lines(entry: Entry) -> list[tuple[str, str]]:
    """(tone, text) lines for one entry; tone is a Theme colour name."""
    if isinstance(entry, RawBytes):
        stamp = clock_text(entry.t_us)
        return [("muted", f"{stamp}  RX  {line}") for line in hex_lines(entry.data)]
    if isinstance(entry, DecodeError):
        return [("fault", f"ERROR {entry.reason} at byte {entry.offset}: {entry.detail}")]
    if isinstance(entry, Reading):
        value = "—" if entry.value is None else f"{entry.value:g}"
        flags = f"  [{', '.join(sorted(entry.flags))}]" if entry.flags else ""
        return [("text", f"      {entry.metric} {value} {entry.unit}{flags}")]
    if isinstance(entry, WaveChunk):
        return [("text", f"      {entry.metric} {len(entry.samples)} samples at {entry.rate_hz:g} Hz")]
    if isinstance(entry, LinkEvent):
        return [("warning", f"LINK {entry.kind}: {entry.detail}")]
    return [("text", repr(entry))]


def coalesced(entries: Iterable[Entry]) -> list[Entry]:
    """Consecutive reads joined into one, stamped at the first: a port read byte by byte stays legible."""
    out: list[Entry] = []
    for entry in entries:
        last = out[-1] if out else None
        if isinstance(entry, RawBytes) and isinstance(last, RawBytes):
            out[-1] = RawBytes(last.data + entry.data, last.t_us)
        else:
            out.append(entry)
    return out


class RawInspector(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(14)
        self.setFont(font)
        self.theme: Theme = DARK
        self.error_lines: list[str] = []  # every error shown, for the summary and for tests
        self.paused = False

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setStyleSheet(
            f"QPlainTextEdit {{ background: {theme.panel}; color: {theme.text}; border: 1px solid {theme.border}; }}"
        )

    def show_entries(self, entries: Iterable[Entry]) -> None:
        if self.paused:
            return
        for entry in coalesced(entries):
            for tone, text in entry_lines(entry):
                if tone == "fault":
                    self.error_lines.append(text)
                colour = getattr(self.theme, tone)
                weight = "bold" if tone == "fault" else "normal"
                self.appendHtml(
                    f'<span style="color:{colour}; font-weight:{weight}; white-space:pre">{html.escape(text)}</span>'
                )

    def clear_all(self) -> None:
        self.clear()
        self.error_lines.clear()

"""The big numbers: what a tile shows for a value, its age and its quality flags, and the tile widgets.

What to show is decided by plain functions (``numeric_view``, ``blood_pressure_view``) so the rules —
dashes for no value, words for flags, dimmed and aged when old — are tested without looking at pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kapmonitor.core.live import Latest
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font
from kapmonitor.ui.widgets.labels import set_style, set_text

DASHES = "---"
NUMERIC_FRESH_S = 5.0  # oximeters report every second; five missed reports and the value is not current
# A cuff measures every 5-15 minutes (clinical.md): its reading stays current far longer than a pulse rate.
NIBP_FRESH_S = 20 * 60.0
# A value that is present but cannot be trusted is not shown as a number at all.
HIDES_VALUE = frozenset({"sensor_off", "invalid"})


@dataclass(frozen=True)
class TileView:
    """What one tile shows: the big text, a small note under it, and how to style them."""

    value: str
    note: str
    stale: bool = False
    alert: bool = False  # the note carries a quality flag
    detail: str = ""  # a secondary number (the NIBP mean)
    quiet: bool = False  # nothing is wrong: the metric is simply not measured here (muted, no warning colour)


def age_text(age_s: float) -> str:
    if age_s < 1:
        return "now"
    if age_s < 60:
        return f"{max(0, int(age_s))} s old"
    if age_s < 3600:
        return f"{int(age_s // 60)} min old"
    return f"{int(age_s // 3600)} h old"


def flag_words(flags: frozenset[str]) -> str:
    """Quality flags as the words a nurse reads: ``sensor_off`` -> ``SENSOR OFF``."""
    return "  ".join(sorted(flag.replace("_", " ").upper() for flag in flags))


def format_number(value: float | None, decimals: int = 0) -> str:
    if value is None or value != value:  # None or NaN: never show a made-up number
        return DASHES
    return f"{value:.{decimals}f}"


def numeric_view(
    latest: Latest | None, now_us: int, *, fresh_s: float = NUMERIC_FRESH_S, decimals: int = 0
) -> TileView:
    if latest is None:
        return TileView(DASHES, "no data", stale=True)
    age_s = (now_us - latest.t_us) / 1e6
    stale = age_s > fresh_s
    shown = None if latest.flags & HIDES_VALUE else latest.value
    value = format_number(shown, decimals)
    if latest.flags:
        note = flag_words(latest.flags)
        if stale:
            note = f"{note}  ·  {age_text(age_s)}"
        return TileView(value, note, stale=stale, alert=True)
    if latest.value is None:
        return TileView(value, "no value" + (f"  ·  {age_text(age_s)}" if stale else ""), stale=stale)
    return TileView(value, age_text(age_s), stale=stale)  # every numeric shows its data age (clinical.md)


def clock_text(t_us: int) -> str:
    """A UTC instant as the local wall-clock time the room's clock shows."""
    return datetime.fromtimestamp(t_us / 1e6).astimezone().strftime("%H:%M")


def blood_pressure_view(
    systolic: Latest | None,
    diastolic: Latest | None,
    mean: Latest | None,
    now_us: int,
    *,
    fresh_s: float = NIBP_FRESH_S,
) -> TileView:
    """Systolic/diastolic (mean) of the last cuff measurement, with the time it was taken."""
    if systolic is None and diastolic is None:
        return TileView(f"{DASHES}/{DASHES}", "no measurement", stale=True)
    measured = max(x.t_us for x in (systolic, diastolic, mean) if x is not None)
    age_s = (now_us - measured) / 1e6
    stale = age_s > fresh_s
    value = f"{_pressure(systolic)}/{_pressure(diastolic)}"
    detail = f"({_pressure(mean)})"
    ago = age_text(age_s).replace(" old", " ago") if age_s >= 60 else "just now"
    note = f"at {clock_text(measured)}  ·  {ago}"
    flags = frozenset().union(*(x.flags for x in (systolic, diastolic, mean) if x is not None))
    if flags:
        return TileView(value, f"{flag_words(flags)}  ·  {note}", stale=stale, alert=True, detail=detail)
    return TileView(value, note, stale=stale, detail=detail)


def _pressure(latest: Latest | None) -> str:
    if latest is None or latest.flags & HIDES_VALUE:
        return DASHES
    return format_number(latest.value)


def drawn_height(metrics: QFontMetrics) -> int:
    """How tall a label must be to show digits whole when it centres its line (ascent and descent) on itself:
    the digits' top (the cap height) and their baseline both inside it."""
    ascent, descent, cap = metrics.ascent(), metrics.descent(), metrics.capHeight()
    return max(ascent - descent, 2 * cap - ascent + descent)


def detail_px(value_px: int) -> int:
    """The mean's size beside a blood pressure of ``value_px``: two fifths of it, never below 20 px."""
    return max(20, value_px * 2 // 5)


class NumericTile(QFrame):
    """A title and unit, one large number, and a note for its age or flags."""

    def __init__(self, title: str, unit: str, colour: str, *, value_px: int = 120, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("tile")
        self.colour = colour  # the Theme attribute naming this vital's colour
        self.value_px = value_px  # the size the number is drawn at when it fits; smaller only when it must
        self.view = TileView(DASHES, "no data", stale=True)
        self._theme: Theme | None = None
        self.value_colour = ""  # the colour the big number is drawn in now
        self.alarm_colour: str | None = None  # the priority colour of an alarm on this vital
        self.alarm_background: str | None = None

        self.title_label = QLabel(title)
        self.title_label.setFont(pixel_font(22, bold=True))
        self.unit_label = QLabel(unit)
        self.unit_label.setFont(pixel_font(22))
        self.unit_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label = QLabel(DASHES)
        self.value_label.setFont(pixel_font(value_px, bold=True))
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # The number fits the tile (``_fit``), not the tile the number: its size must not set the window's
        # minimum height, or a 768-px laptop screen could not show the window at all.
        self.value_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.detail_label = QLabel("")
        self.detail_label.setFont(pixel_font(detail_px(value_px), bold=True))
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom)
        self.detail_label.hide()
        self.note_label = QLabel("")
        self.note_label.setFont(pixel_font(18))
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        head = self.head = QHBoxLayout()
        head.addWidget(self.title_label)
        head.addStretch(1)
        head.addWidget(self.unit_label)
        number = QHBoxLayout()
        number.addStretch(1)
        number.addWidget(self.value_label)
        number.addWidget(self.detail_label)
        box = self.box = QVBoxLayout(self)
        box.setContentsMargins(16, 10, 16, 10)
        box.setSpacing(0)
        box.addLayout(head)
        box.addLayout(number, 1)
        box.addWidget(self.note_label)

    def add_head_widget(self, widget: QWidget) -> None:
        """A control in the tile's title row, after the title (the NIBP tile's "Measure now")."""
        self.head.insertWidget(1, widget)

    def show_view(self, view: TileView) -> None:
        if view != self.view:
            self.view = view
            self._render()

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._render()

    def show_alarm(self, border: str | None, background: str | None = None) -> None:
        """Colour the tile of a vital in alarm (the alarm bar names the alarm); None: no alarm on it."""
        if (border, background) == (self.alarm_colour, self.alarm_background):
            return
        self.alarm_colour, self.alarm_background = border, background
        self.setStyleSheet(
            ""
            if border is None
            else f"QFrame#tile {{ border: 5px solid {border}; background: {background or border}; }}"
        )

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Shrink the number (never below legible) rather than let a narrow or short window clip it; the
        mean beside a blood pressure shrinks with it, keeping two fifths of its size."""
        margins = self.box.contentsMargins()
        room = self.width() - margins.left() - margins.right() - 8
        height = (  # what the title row and the note leave for the number
            self.height()
            - margins.top()
            - margins.bottom()
            - self.title_label.sizeHint().height()
            - self.note_label.sizeHint().height()
        )
        px = self.value_px
        font, detail_font = self.value_label.font(), self.detail_label.font()
        while True:
            font.setPixelSize(px)
            detail_font.setPixelSize(detail_px(px))
            left = room
            if self.detail_label.isVisible():
                left -= QFontMetrics(detail_font).horizontalAdvance(self.view.detail) + 8
            metrics = QFontMetrics(font)
            if px <= 28 or (metrics.horizontalAdvance(self.view.value) <= left and drawn_height(metrics) <= height):
                break
            px -= 4
        self.value_label.setFont(font)
        self.detail_label.setFont(detail_font)

    def _render(self) -> None:
        view, theme = self.view, self._theme
        set_text(self.value_label, view.value)
        set_text(self.detail_label, view.detail)
        self.detail_label.setVisible(bool(view.detail))
        set_text(self.note_label, view.note)
        self._fit()
        if theme is None:
            return
        colour = theme.stale if view.stale else getattr(theme, self.colour)
        note_colour = theme.warning if (view.alert or view.stale) and not view.quiet else theme.muted
        self.value_colour = colour
        set_style(self.value_label, f"color: {colour};")
        set_style(self.detail_label, f"color: {colour};")
        set_style(self.title_label, f"color: {theme.stale if view.stale else getattr(theme, self.colour)};")
        set_style(self.unit_label, f"color: {theme.muted};")
        set_style(self.note_label, f"color: {note_colour};")

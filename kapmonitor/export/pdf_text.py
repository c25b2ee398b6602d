"""A paragraph of plain text in any script, as a reportlab flowable: each run of characters in a face that has them
(pdf_fonts.runs), complex scripts shaped by HarfBuzz, right-to-left text in its visual order (bidi_order), lines
broken at spaces and between Chinese or Japanese characters.

reportlab's Paragraph does shaping too, but shapes a word in its first run's font (a word mixing faces prints the
wrong glyphs) and reorders right-to-left text only with its own bidi package, which is not on the package index.
So lines are broken here in logical order, then each line is reordered (UAX #9 L1, L2) and drawn run by run.

A shaped run is drawn inside a marked-content span whose /ActualText holds its characters: a joined Arabic letter
or a Devanagari conjunct is a glyph no character maps to (reportlab maps it to a private-use code), and text
extraction (pdftotext, search, screen readers) reads the span instead. Readers take a page's characters left to
right by position and put right-to-left runs back in logical order themselves, as they do for any Arabic or Hebrew
PDF; so the span of a right-to-left run holds its characters left to right too (logical order reversed), and
pdftotext reads the name as it was written. One span per run, not per glyph cluster: the cursive advances HarfBuzz
gives Arabic letters are not the glyphs' own widths, and per-cluster boxes leave gaps readers take for spaces.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import ShapedStr, shapeStr
from reportlab.pdfgen.textobject import PDFTextObject
from reportlab.platypus import Flowable, SimpleDocTemplate

from kapmonitor.export.bidi_order import MIRRORED, base_level, levels, line_levels, visual_order
from kapmonitor.export.pdf_fonts import BODY_FONT, BOLD_FONT, Face, font_name, is_cjk, is_mark, missing, note_cjk, runs

log = logging.getLogger(__name__)

_HANGUL_START, _HANGUL_END = 0x1100, 0xD7FF  # Korean breaks at spaces, as Latin does


@dataclass(frozen=True)
class Piece:
    """Part of a line in one face and one direction, ready to draw."""

    text: str | ShapedStr  # what is drawn: logical order, or visual order for an unshaped right-to-left piece
    actual: str  # its characters as they stand on the line, left to right (a right-to-left piece reversed)
    font: str
    width: float
    shaped: bool


def _breaks_around(c: str) -> bool:
    return is_cjk(c) and not _HANGUL_START <= ord(c) <= _HANGUL_END


class ScriptParagraph(Flowable):
    """``text`` (plain, not markup) set in ``style``'s size, leading, colour and alignment; bold when the style's font
    is the bold one. A right-to-left paragraph (its first strong character is Arabic or Hebrew) aligns right."""

    def __init__(self, text: object, style: ParagraphStyle) -> None:
        super().__init__()
        self.text = " ".join(str(text).split())
        self.style = style
        self.bold = style.fontName == BOLD_FONT
        self.base = base_level(self.text)
        self._levels = levels(self.text, self.base)
        self._faces: list[Face] = [face for run, face in runs(self.text) for _ in run]
        self._lines: list[tuple[int, int]] = []
        note_cjk(self.text, self.bold)
        lacking = missing(self.text)
        if lacking:
            log.warning("no font has %s: printed blank in %r", ", ".join(f"U+{ord(c):04X}" for c in lacking), self.text)

    def __repr__(self) -> str:
        return f"ScriptParagraph({self.text!r})"

    # layout

    def _segments(self, start: int, end: int) -> list[tuple[int, int]]:
        """[start, end) split where its face changes: each segment is measured and drawn in one font."""
        out: list[tuple[int, int]] = []
        i = start
        while i < end:
            j = i + 1
            while j < end and self._faces[j] is self._faces[i]:
                j += 1
            out.append((i, j))
            i = j
        return out

    def _piece(self, start: int, end: int, odd: bool) -> Piece:
        logical = self.text[start:end]
        face = self._faces[start]
        font = font_name(face, self.bold, logical)
        size = self.style.fontSize
        if face.shaped and (not odd or base_level(logical) == 1):  # right to left: HarfBuzz orders the glyphs
            shaped = shapeStr(logical, font, size)  # the text itself when HarfBuzz changed nothing
            glyphs = getattr(shaped, "__shapeData__", None) if isinstance(shaped, ShapedStr) else None
            if glyphs:
                width = sum(d.x_advance for d in glyphs) * size / 1000
                return Piece(shaped, logical[::-1] if odd else logical, font, width, True)
        drawn = "".join(MIRRORED.get(c, c) for c in reversed(logical)) if odd else logical
        return Piece(drawn, drawn, font, pdfmetrics.stringWidth(drawn, font, size), False)

    def _width(self, start: int, end: int) -> float:
        return sum(self._piece(i, j, False).width for i, j in self._segments(start, end))

    def _tokens(self) -> list[tuple[int, int]]:
        """Where a line may break: words, single spaces, and each Chinese or Japanese character on its own."""
        out: list[tuple[int, int]] = []
        i, text = 0, self.text
        while i < len(text):
            j = i + 1
            if text[i] != " " and not _breaks_around(text[i]):
                while j < len(text) and text[j] != " " and not _breaks_around(text[j]):
                    j += 1
            while j < len(text) and is_mark(text[j]):
                j += 1
            out.append((i, j))
            i = j
        return out

    def _clusters(self, start: int, end: int) -> list[tuple[int, int]]:
        """A word too long for the line, split into characters with their marks."""
        out: list[tuple[int, int]] = []
        i = start
        while i < end:
            j = i + 1
            while j < end and is_mark(self.text[j]):
                j += 1
            out.append((i, j))
            i = j
        return out

    def _layout(self, width: float) -> list[tuple[int, int]]:
        """Lines as [start, end) of the text, greedily filled; no line starts or ends with a space."""
        lines: list[tuple[int, int]] = []
        start = end = -1
        used = 0.0
        for token in self._tokens():
            for i, j in [token] if self._width(*token) <= width else self._clusters(*token):
                if self.text[i:j].isspace():
                    continue
                w = self._width(i, j)
                gap = self._width(end, i) if start >= 0 else 0.0
                if start >= 0 and used + gap + w > width:
                    lines.append((start, end))
                    start, gap = -1, 0.0
                if start < 0:
                    start, used = i, 0.0
                used += gap + w
                end = j
        if start >= 0:
            lines.append((start, end))
        return lines

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self._lines = self._layout(availWidth)
        self.width = availWidth
        self.height = max(1, len(self._lines)) * self.style.leading
        return self.width, self.height

    def getSpaceBefore(self) -> float:
        return float(self.style.spaceBefore)

    def getSpaceAfter(self) -> float:
        return float(self.style.spaceAfter)

    # drawing

    def line_pieces(self, start: int, end: int) -> list[Piece]:
        """The line [start, end) left to right: runs of one face and one direction, reordered (UAX #9 L1, L2)."""
        text = self.text[start:end]
        resolved = line_levels(text, self._levels[start:end], self.base)
        order = [start + i for i in visual_order(resolved)]
        pieces: list[Piece] = []
        i = 0
        while i < len(order):
            level = resolved[order[i] - start]
            step = -1 if level % 2 else 1
            j = i + 1
            while (
                j < len(order)
                and order[j] == order[j - 1] + step
                and resolved[order[j] - start] == level
                and self._faces[order[j]] is self._faces[order[i]]
            ):
                j += 1
            low, high = min(order[i], order[j - 1]), max(order[i], order[j - 1]) + 1
            pieces.append(self._piece(low, high, bool(level % 2)))
            i = j
        return pieces

    def draw(self) -> None:
        canvas = self.canv
        style = self.style
        canvas.saveState()
        canvas.setFillColor(style.textColor)
        y = self.height - style.fontSize
        for start, end in self._lines:
            pieces = self.line_pieces(start, end)
            used = sum(p.width for p in pieces)
            x = 0.0
            if style.alignment == TA_CENTER:
                x = (self.width - used) / 2
            elif style.alignment == TA_RIGHT or self.base == 1:
                x = self.width - used
            line = canvas.beginText(x, y)  # one text object a line: extraction reads it as one line
            for piece in pieces:
                line.setFont(piece.font, style.fontSize)
                if piece.shaped:
                    _operator(line, f"/Span <</ActualText <FEFF{piece.actual.encode('utf-16-be').hex()}>>> BDC")
                line.textOut(piece.text)
                if piece.shaped:
                    _operator(line, "EMC")
            canvas.drawText(line)
            y -= style.leading
        canvas.restoreState()


def _operator(line: PDFTextObject, operator: str) -> None:
    """A content operator inside the text object: reportlab's has no call for marked content (BDC, EMC), and its
    operators are the list the text object writes out when drawn."""
    vars(line)["_code"].append(operator)


def a4_document(path: Path, title: str, *, top_bottom_mm: float) -> SimpleDocTemplate:
    """An A4 document as the session report and the REMS form print: 15 mm at the sides, ``top_bottom_mm`` above
    and below, authored by kapmonitor."""
    return SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=top_bottom_mm * mm,
        bottomMargin=top_bottom_mm * mm,
        title=title,
        author="kapmonitor",
        initialFontName=BODY_FONT,  # every font in the file embedded: not even the page preamble names Helvetica
    )

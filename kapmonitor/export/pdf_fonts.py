"""Fonts for the PDF report that print a name in any script the clinic meets, from fonts dependencies ship.

Helvetica, reportlab's default, knows only WinAnsi: "Zoë" prints, "张伟" prints as boxes. So text goes through
:func:`markup`, which sets it in Roboto (the ``font-roboto`` package: Latin with every accent, Greek, Cyrillic),
and hands each run of Chinese, Japanese or Korean to one of reportlab's CID fonts (``STSong-Light``,
``HeiseiMin-W3``, ``HYSMyeongJo-Medium``): which one is chosen per text, Japanese when it has kana, Korean when it
has hangul, else Chinese, so a Japanese name keeps its kanji in the Japanese face. CID fonts are not embedded:
PDF readers supply them from their Asian font packs, and text extraction (pypdf, pdftotext) reads the characters
back. Scripts neither covers (Arabic, Hebrew, Indic, Thai) are not rendered faithfully yet.
"""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import escape

import font_roboto
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

BODY_FONT = "Roboto"
BOLD_FONT = "Roboto-Bold"
CHINESE, JAPANESE, KOREAN = "STSong-Light", "HeiseiMin-W3", "HYSMyeongJo-Medium"

_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF65, 0xFF9F))
_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF))
_HAN = (
    (0x2E80, 0x2FDF),  # radicals
    (0x3000, 0x303F),  # CJK punctuation
    (0x3100, 0x312F),  # bopomofo
    (0x3190, 0x31BF),
    (0x3200, 0x33FF),  # enclosed letters, compatibility
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFF64),  # fullwidth forms
    (0x20000, 0x2FA1F),
)


def _within(c: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(c)
    return any(low <= code <= high for low, high in ranges)


def is_cjk(c: str) -> bool:
    return _within(c, _HAN) or _within(c, _KANA) or _within(c, _HANGUL)


@cache
def register() -> None:
    """Register the fonts with reportlab once per process."""
    pdfmetrics.registerFont(TTFont(BODY_FONT, font_roboto.Roboto))
    pdfmetrics.registerFont(TTFont(BOLD_FONT, font_roboto.RobotoBold))
    pdfmetrics.registerFontFamily(BODY_FONT, normal=BODY_FONT, bold=BOLD_FONT, italic=BODY_FONT, boldItalic=BOLD_FONT)
    for name in (CHINESE, JAPANESE, KOREAN):
        pdfmetrics.registerFont(UnicodeCIDFont(name))


def cjk_font(text: str) -> str:
    """The CID font for the CJK characters of ``text``: Japanese with kana, Korean with hangul, else Chinese."""
    if any(_within(c, _KANA) for c in text):
        return JAPANESE
    if any(_within(c, _HANGUL) for c in text):
        return KOREAN
    return CHINESE


def markup(text: str) -> str:
    """``text`` as Paragraph markup: escaped, with each run of CJK characters in its CID font."""
    register()
    font = cjk_font(text)
    out: list[str] = []
    run: list[str] = []
    run_cjk = False
    for c in text:
        cjk = is_cjk(c)
        if run and cjk != run_cjk:
            out.append(_run("".join(run), font if run_cjk else None))
            run = []
        run.append(c)
        run_cjk = cjk
    if run:
        out.append(_run("".join(run), font if run_cjk else None))
    return "".join(out)


def _run(text: str, font: str | None) -> str:
    escaped = escape(text)
    return f'<font name="{font}">{escaped}</font>' if font else escaped

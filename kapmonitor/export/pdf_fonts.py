"""Fonts for the PDF exports: a name or a note in any script prints as written, in fonts that dependencies ship,
embedded (subset) in the file.

- Latin, Greek and Cyrillic: Roboto (``font-roboto``), regular and bold.
- The scripts Latin faces lack: Noto Sans for each (``manimgx-fonts``: Arabic, Hebrew, Devanagari, Bengali,
  Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala, Thai, Lao, Khmer, Myanmar, Armenian,
  Georgian, Ethiopic), then Noto Sans, Noto Sans Symbols and Noto Emoji (monochrome) for what Roboto lacks. They
  are variable fonts whose default instance is the regular weight; the bold one is instantiated with fontTools the
  first time a heading needs it and kept in the cache directory. Runs in the script faces are shaped with HarfBuzz
  (reportlab's ``uharfbuzz`` shaping): Arabic letters join, Devanagari conjuncts form, Thai marks stack.
- Chinese, Japanese, Korean: Noto Sans SC, JP, KR and TC (``justmytype-intl-cjk``, TrueType outlines). They are
  17 MB variable fonts whose default is the thinnest weight and whose instancing takes 10-20 s, so a document gets
  a subset of exactly the characters it prints, instantiated at the weight it needs (0.3 s): every
  :class:`~kapmonitor.export.pdf_text.ScriptParagraph` notes its characters when it is made, and the first one laid
  out builds the subset for all of them (:func:`cjk_font`). Which face: Japanese when the text has kana, Korean
  when it has hangul, else Simplified Chinese, then whichever covers the character.

:func:`runs` splits a text into runs of one face each (per character: the first face that has it, marks staying
with their base), which is how "Zoë 王 محمد" prints in three faces.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import font_roboto
from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont as FontFile
from fontTools.varLib import instancer
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from kapmonitor.core.paths import cache_dir

log = logging.getLogger(__name__)

BODY_FONT = "Roboto"
BOLD_FONT = "Roboto-Bold"
REGULAR, BOLD = 400, 700


@dataclass(frozen=True)
class Face:
    """One font file and how its runs are drawn."""

    key: str  # reportlab's name for its regular weight
    path: Path
    shaped: bool = True  # runs go through HarfBuzz (complex scripts); Latin and CJK do not need it
    cjk: bool = False  # subset per document (17 MB variable fonts), see cjk_font


def _noto(name: str) -> Path:
    return Path(str(files("manimgx_fonts") / f"{name}[wght].ttf"))


def _cjk(name: str) -> Path:
    return Path(str(files("justmytype_intl_cjk") / "fonts" / "ofl" / name.lower() / f"{name}[wght].ttf"))


ROBOTO = Face(BODY_FONT, Path(font_roboto.Roboto), shaped=False)
_SCRIPTS = (
    *("Arabic", "Hebrew", "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil", "Telugu", "Kannada"),
    *("Malayalam", "Sinhala", "Thai", "Lao", "Khmer", "Myanmar", "Armenian", "Georgian", "Ethiopic"),
)
SCRIPT_FACES = tuple(Face(f"NotoSans{s}", _noto(f"NotoSans{s}")) for s in _SCRIPTS)
FALLBACK_FACES = (
    Face("NotoSans", _noto("NotoSans"), shaped=False),
    Face("NotoSansSymbols", _noto("NotoSansSymbols"), shaped=False),
    Face("NotoEmoji", _noto("NotoEmoji"), shaped=False),
)
CHINESE, TRADITIONAL, JAPANESE, KOREAN = (
    Face(f"NotoSans{c}", _cjk(f"NotoSans{c}"), shaped=False, cjk=True) for c in ("SC", "TC", "JP", "KR")
)
# Per character, the first face in this order that has it (Roboto first: the body face of the report).
FACES = (ROBOTO, *SCRIPT_FACES, *FALLBACK_FACES, CHINESE, JAPANESE, KOREAN, TRADITIONAL)

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
# Joiners and selectors belong to the run they sit in, as marks do.
_JOINERS = {0x200C, 0x200D, 0x034F} | set(range(0xFE00, 0xFE10))


def _within(c: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(c)
    return any(low <= code <= high for low, high in ranges)


def is_cjk(c: str) -> bool:
    return _within(c, _HAN) or _within(c, _KANA) or _within(c, _HANGUL)


def is_mark(c: str) -> bool:
    return unicodedata.category(c) in ("Mn", "Mc", "Me") or ord(c) in _JOINERS


@cache
def coverage(face: Face) -> frozenset[int]:
    """The code points the face has a glyph for (its cmap)."""
    return frozenset(FontFile(str(face.path), lazy=True).getBestCmap())


def cjk_order(text: str) -> tuple[Face, ...]:
    """The CJK faces for ``text``, in the order tried: Japanese with kana, Korean with hangul, else Chinese."""
    if any(_within(c, _KANA) for c in text):
        return (JAPANESE, CHINESE, TRADITIONAL, KOREAN)
    if any(_within(c, _HANGUL) for c in text):
        return (KOREAN, CHINESE, TRADITIONAL, JAPANESE)
    return (CHINESE, TRADITIONAL, JAPANESE, KOREAN)


def _face_for(c: str, order: tuple[Face, ...]) -> Face | None:
    code = ord(c)
    return next((face for face in order if code in coverage(face)), None)


def runs(text: str) -> list[tuple[str, Face]]:
    """``text`` split into runs of one face: per character the first face that has it, CJK by the text's language,
    a mark (or joiner) with its base's face when that face has it, and a space, digit or punctuation with a run of
    a script face before it when that face has it (so a phrase shapes as one); else in Roboto."""
    cjk = cjk_order(text)
    order = (ROBOTO, *SCRIPT_FACES, *FALLBACK_FACES, *cjk)
    out: list[tuple[str, Face]] = []
    current: Face | None = None
    run: list[str] = []
    for c in text:
        code = ord(c)
        attaches = is_mark(c) or unicodedata.category(c)[0] in "PZS" or c.isdigit()
        if current is not None and attaches and (current.shaped or is_mark(c)) and code in coverage(current):
            face = current
        elif is_cjk(c):
            face = _face_for(c, cjk) or _face_for(c, order) or ROBOTO
        else:
            face = _face_for(c, order) or current or ROBOTO
        if face is not current and run:
            out.append(("".join(run), current or ROBOTO))
            run = []
        run.append(c)
        current = face
    if run:
        out.append(("".join(run), current or ROBOTO))
    return out


def missing(text: str) -> str:
    """The characters of ``text`` no face has (they print as a blank); invisible ones (marks, joiners, the bidi
    controls, category Cf) are not missed."""
    visible = {c for c in text if not c.isspace() and not is_mark(c) and unicodedata.category(c) != "Cf"}
    return "".join(sorted(c for c in visible if _face_for(c, FACES) is None))


@cache
def register() -> None:
    """Register Roboto and the script faces' regular weight with reportlab once per process (fonts are parsed
    when first used)."""
    pdfmetrics.registerFont(TTFont(BODY_FONT, font_roboto.Roboto))
    pdfmetrics.registerFont(TTFont(BOLD_FONT, font_roboto.RobotoBold))
    pdfmetrics.registerFontFamily(BODY_FONT, normal=BODY_FONT, bold=BOLD_FONT, italic=BODY_FONT, boldItalic=BOLD_FONT)
    for face in (*SCRIPT_FACES, *FALLBACK_FACES):
        pdfmetrics.registerFont(TTFont(face.key, str(face.path), shapable=face.shaped))


_lock = threading.Lock()


def font_name(face: Face, bold: bool, text: str) -> str:
    """The reportlab font that prints ``text`` (a run of ``face``) in the weight asked for."""
    register()
    if face.cjk:
        return cjk_font(face, BOLD if bold else REGULAR, text)
    if face is ROBOTO:
        return BOLD_FONT if bold else BODY_FONT
    if bold and face in SCRIPT_FACES:
        return _bold(face)
    return face.key


@cache
def _bold(face: Face) -> str:
    """The face's bold instance, registered under ``<key>-Bold``: instantiated with fontTools the first time (about
    0.5 s for a script face) and kept in the cache directory, named by the source file's digest."""
    name = f"{face.key}-Bold"
    source = face.path.read_bytes()
    cached = cache_dir() / "fonts" / f"{name}-{hashlib.sha256(source).hexdigest()[:16]}.ttf"
    try:
        data = io.BytesIO(cached.read_bytes())
    except OSError:
        font = instancer.instantiateVariableFont(FontFile(io.BytesIO(source)), {"wght": BOLD}, updateFontNames=False)
        data = _named(font, name)
        _keep(cached, data.getvalue())
    pdfmetrics.registerFont(TTFont(name, data, shapable=face.shaped))
    return name


def _keep(path: Path, data: bytes) -> None:
    """Write a cache file whole (a reader never sees half of one), or not at all when the directory is not ours."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{threading.get_ident()}.part")
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as error:
        log.info("font cache not written (%s): the bold face is made again next time", error)


def _named(font: FontFile, name: str) -> io.BytesIO:
    """The font saved with ``name`` as its PostScript name: reportlab names (and shares) a font's subsets in the
    PDF by that name, so an instance must not keep the regular one's (nor the variable font's "Thin")."""
    table = font["name"]
    table.removeNames(nameID=6)
    table.setName(name, 6, 3, 1, 0x409)
    table.setName(name, 6, 1, 0, 0)
    data = io.BytesIO()
    font.save(data)
    data.seek(0)
    return data


# CJK: the characters paragraphs will print, per (face, weight), and the subsets built so far.
_pending: dict[tuple[Face, int], set[str]] = {}
_built: dict[tuple[Face, int], list[tuple[frozenset[str], str]]] = {}


def note_cjk(text: str, bold: bool) -> None:
    """Note the CJK characters a paragraph will print, so that the first one laid out builds one subset for all."""
    weight = BOLD if bold else REGULAR
    with _lock:
        for run, face in runs(text):
            if face.cjk:
                _pending.setdefault((face, weight), set()).update(run)


def cjk_font(face: Face, weight: int, text: str) -> str:
    """A registered subset of ``face`` at ``weight`` that has every character of ``text``: one already built, or a
    new one for ``text`` and every character noted since the last was built."""
    need = frozenset(text)
    with _lock:
        for chars, name in reversed(_built.get((face, weight), [])):
            if need <= chars:
                return name
        chars = frozenset(_pending.pop((face, weight), set()) | need)
        name = _subset_font(face, weight, chars)
        built = _built.setdefault((face, weight), [])
        built.append((chars, name))
        for _, old in built[:-8]:  # the last few stay: a document being built may still draw in them
            subset = pdfmetrics.getFont(old)
            if isinstance(subset, TTFont):
                subset.unregister()
        del built[:-8]
        return name


def _subset_font(face: Face, weight: int, chars: frozenset[str]) -> str:
    digest = hashlib.sha256(json.dumps([face.key, weight, sorted(chars)]).encode()).hexdigest()[:12]
    name = f"{face.key}-{weight}-{digest}"
    try:
        pdfmetrics.getFont(name)
        return name
    except KeyError:
        pass
    font = FontFile(str(face.path), lazy=True)
    options = ft_subset.Options()
    options.layout_features = []  # horizontal CJK needs no shaping
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "vhea", "vmtx", "VORG"]
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = ["*"]
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(font)
    static = instancer.instantiateVariableFont(font, {"wght": weight}, updateFontNames=False)
    pdfmetrics.registerFont(TTFont(name, _named(static, name), shapable=False))
    return name

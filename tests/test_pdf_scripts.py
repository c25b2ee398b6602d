"""Names and notes in every script a clinic's patients and staff write, through the real PDF exports (the session
report and the REMS form), read back by independent tools: pdftotext gives the text back, pdffonts finds every
font embedded, and pdftoppm's rendering shows glyphs where the name stands, not the empty boxes of a missing
glyph. The right-to-left line order is compared with python-bidi's."""

from __future__ import annotations

import dataclasses
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import bidi
import numpy as np
import pytest
from export_session import RecordedSession, record_session
from PIL import Image
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from kapmonitor.export.bidi_order import display
from kapmonitor.export.loader import SessionData
from kapmonitor.export.pdf_fonts import BODY_FONT, missing, runs
from kapmonitor.export.pdf_report import write_pdf
from kapmonitor.export.pdf_text import ScriptParagraph
from kapmonitor.export.rems_export import rems_summary
from kapmonitor.export.rems_pdf import rems_pdf
from kapmonitor.session.entries import BolusDose, Note
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import engine_for

NAMES = {
    "Latin": "Zoë Ñúñez-Żółć",
    "Greek": "Αλέξανδρος Παπαδόπουλος",
    "Cyrillic": "Дмитрий Иванов",
    "Chinese": "张伟",
    "Japanese": "山田 太郎 やまだ",
    "Korean": "김민준",
    "Arabic": "محمد عبد الله",
    "Hebrew": "אבי כהן",
    "Devanagari": "प्रिया क्षत्रिय",
    "Thai": "สมชาย ใจดี",
    "Tamil": "செல்வன்",
}
MIXED = "Zoë 王 محمد"
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") or os.environ.get("KAPMONITOR_REQUIRE_TOOLS"):
            pytest.fail(f"{name} (poppler-utils) is not installed; make test installs it as root")
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionData]:
    recorded: RecordedSession = record_session(tmp_path_factory.mktemp("scripts"))
    engine = engine_for(recorded.url)
    yield recorded.load(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def report(data: SessionData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session report with a dose given by each name, a note in each script, and a mixed-script nurse."""
    record = SessionRecord("im-ketamine")
    start = data.info.start_us
    for n, name in enumerate(NAMES.values(), start=1):
        t = start + n * 1_000_000
        record.add(BolusDose(t_us=t, entered_us=t, author=name, mg=10.0, route="im"))
    record.add(Note(t_us=start + 60_000_000, entered_us=start + 60_000_000, author="RN", text=MIXED))
    info = dataclasses.replace(data.info, nurse=MIXED, patient="KAP-张伟")
    out = tmp_path_factory.mktemp("scripts-report") / "report.pdf"
    (path,) = write_pdf(dataclasses.replace(data, info=info, record=record, audit_head="7:" + "ab" * 32), out)
    return path


@pytest.fixture(scope="module")
def rems(data: SessionData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The REMS form (the fixture's session is intranasal esketamine): nurse and patient in scripts of their own."""
    info = dataclasses.replace(data.info, nurse=NAMES["Hebrew"], patient=NAMES["Devanagari"])
    filled = dataclasses.replace(data, info=info)
    path = tmp_path_factory.mktemp("scripts-rems") / "rems.pdf"
    rems_pdf(filled, rems_summary(filled), path)
    return path


def pdftotext(path: Path) -> str:
    out = subprocess.run([tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(BIDI_MARKS.sub("", out).split())


def test_pdftotext_reads_every_name_back_from_the_report(report: Path) -> None:
    text = pdftotext(report)
    for script, name in NAMES.items():
        assert name in text, script
    assert "Session report: patient KAP-张伟" in text
    assert MIXED in text  # the nurse, three faces on one line, left to right with the Arabic run laid right to left


def test_pdftotext_reads_the_rems_forms_names(rems: Path) -> None:
    text = pdftotext(rems)
    assert NAMES["Hebrew"] in text and NAMES["Devanagari"] in text


@pytest.mark.parametrize("which", ["report", "rems"])
def test_every_font_is_embedded(which: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(which)
    listing = subprocess.run([tool("pdffonts"), str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    assert rows
    for row in rows:
        emb, sub = row[-5], row[-4]  # name type encoding emb sub uni object ID
        assert (emb, sub) == ("yes", "yes"), row
    names = " ".join(row[0] for row in rows)
    for face in ("Roboto", "NotoSansArabic", "NotoSansHebrew", "NotoSansDevanagari", "NotoSansThai", "NotoSansSC"):
        if which == "report" or face in ("Roboto", "NotoSansHebrew", "NotoSansDevanagari"):
            assert face in names, face


def test_the_rendering_shows_glyphs_where_each_name_stands(report: Path, tmp_path: Path) -> None:
    """pdftoppm's page; each name's words found by pdftotext -bbox; the ink there compared with the same text
    drawn in a face that lacks it (the empty boxes of a missing glyph)."""
    dpi = 150
    subprocess.run([tool("pdftoppm"), "-r", str(dpi), "-f", "1", "-l", "1", "-png", str(report), str(tmp_path / "p")])
    (png,) = tmp_path.glob("p*.png")
    page = np.asarray(Image.open(png).convert("L"))
    boxes = word_boxes(report)
    for script, name in NAMES.items():
        box = name_box(boxes, name)
        assert box is not None, f"{script}: {name} not found on page 1"
        x0, y0, x1, y1 = (round(v * dpi / 72) for v in box)
        ink = page[y0 : y1 + 1, x0 : x1 + 1] < 128
        assert ink.mean() > 0.03, f"{script}: no glyphs drawn ({ink.mean():.3f} of the box inked)"
        missing = rendered_missing(name, tmp_path / f"{script}.pdf", dpi)
        seen = likeness(ink, missing)
        assert seen < 0.5, f"{script}: {name} looks like the boxes of missing glyphs ({seen:.2f})"
    Image.open(png).save(Path(os.environ.get("KAPMONITOR_SCRIPTS_PNG", tmp_path / "page.png")))


def word_boxes(path: Path) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Page 1's words and their boxes (points), as pdftotext -bbox finds them."""
    out = subprocess.run([tool("pdftotext"), "-bbox", "-f", "1", "-l", "1", str(path), "-"], capture_output=True)
    xhtml = out.stdout.decode()
    root = ElementTree.fromstring(xhtml[xhtml.index("<html") :])
    words = []
    for word in root.iter("{http://www.w3.org/1999/xhtml}word"):
        box = tuple(float(word.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax"))
        words.append((BIDI_MARKS.sub("", word.text or ""), box))
    return words  # type: ignore[return-value]


def name_box(
    words: list[tuple[str, tuple[float, float, float, float]]], name: str
) -> tuple[float, float, float, float] | None:
    """The box around the words that spell ``name``: a shaped run is one word, spaces and all, and a right-to-left
    one stands as its letters do, left to right."""
    for i in range(len(words)):
        for k in range(1, len(name.split()) + 1):
            found = words[i : i + k]
            if " ".join(text for text, _ in found) in (name, name[::-1]):
                boxes = [box for _, box in found]
                return (
                    min(b[0] for b in boxes),
                    min(b[1] for b in boxes),
                    max(b[2] for b in boxes),
                    max(b[3] for b in boxes),
                )
    return None


def rendered_missing(text: str, path: Path, dpi: int) -> np.ndarray:
    """``text`` as the export printed it before: in a CID font the file does not embed (reportlab's STSong-Light),
    which poppler, with no Asian font pack to stand in, draws as a row of missing-glyph boxes."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    canvas = Canvas(str(path), pagesize=(400, 40))
    canvas.setFont("STSong-Light", 8)
    canvas.drawString(5, 15, text)
    canvas.save()
    subprocess.run([tool("pdftoppm"), "-r", str(dpi), "-png", "-singlefile", str(path), str(path.with_suffix(""))])
    image = np.asarray(Image.open(path.with_suffix(".png")).convert("L")) < 128
    return image


def likeness(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ink images, each cut to its ink and scaled to the same size."""

    def cut(ink: np.ndarray) -> np.ndarray:
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        box = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        return np.asarray(Image.fromarray(box.astype(np.uint8) * 255).resize((240, 24))) > 127

    x, y = cut(a), cut(b)
    return float((x & y).sum() / max(1, (x | y).sum()))


def test_a_missing_glyph_rendering_is_recognised_as_one(tmp_path: Path) -> None:
    """The likeness measure knows boxes for boxes: two names drawn in missing-glyph boxes are alike, and the real
    glyphs of one are not like its boxes."""
    tool("pdftoppm")
    a = rendered_missing("张伟 王芳", tmp_path / "a.pdf", 150)
    b = rendered_missing("王芳 张伟", tmp_path / "b.pdf", 150)
    assert likeness(a, b) > 0.8


def test_a_character_no_face_has_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    assert missing("Zoë \u200f王 محمد 😀") == ""  # a right-to-left mark is invisible, not missing
    ScriptParagraph("Tibetan ཀ", ParagraphStyle("x", fontName=BODY_FONT))
    assert "U+0F40" in caplog.text


def test_runs_pick_a_face_per_script() -> None:
    assert [(text, face.key) for text, face in runs(MIXED)] == [
        ("Zoë ", "Roboto"),
        ("王", "NotoSansSC"),
        (" ", "Roboto"),
        ("محمد", "NotoSansArabic"),
    ]
    assert [face.key for _, face in runs("محمد عبد الله")] == ["NotoSansArabic"]  # one run: shaped as a phrase
    assert {face.key for _, face in runs("山田やまだ")} == {"NotoSansJP"}  # kana: the Japanese face for the kanji
    assert {face.key for _, face in runs("김金")} == {"NotoSansKR"}
    assert [face.key for _, face in runs("Zoë 😀")] == ["Roboto", "NotoEmoji"]


LINES = [
    "abc محمد علي 12 def",
    "محمد (Mo) علي",
    "שלום (abc) עולם",
    "جرعة 28 mg في 10:30",
    "KAP-محمد-7",
    "١٢٣ محمد",
    "Dr. אבי כהן (RN)",
    "$12.50 שקל",
    "(محمد)",
    "دمحم [12] علي",
    "مَرْيَم 56 mg, 2 devices.",
]


@pytest.mark.parametrize("line", LINES)
def test_line_order_is_python_bidis(line: str) -> None:
    for base, level in ((None, None), ("L", 0), ("R", 1)):
        assert display(line, level) == bidi.get_display(line, base_dir=base)


def test_line_order_is_python_bidis_for_random_mixtures() -> None:
    rng = random.Random(14)
    pieces = list("abc XYZ 12 ٣٤ محمد שלום ().,-:/+%$#[]") + ["\u064e", "\u05b4", "\u200f"]
    for _ in range(2000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
        for base, level in ((None, None), ("L", 0), ("R", 1)):
            assert display(line, level) == bidi.get_display(line, base_dir=base), (line, base)

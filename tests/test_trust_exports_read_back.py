"""Every export of one replayed session, read back by an independent reader (Python's csv, pyedflib,
fhir.resources, pypdf, hl7apy) through the real command line, agrees with `sessions show --json`, and carries the audit
head `audit verify` reports."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyedflib
import pytest
from fhir.resources.R4B.bundle import Bundle
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from pypdf import PdfReader

from kapmonitor.cli import main
from kapmonitor.core.clock import from_iso

ROOT = Path(__file__).resolve().parents[1]
ALARMS = str(ROOT / "resources" / "scenarios" / "alarms.toml")  # 30 min, oximeter and cuff, two notes
ESKETAMINE = str(ROOT / "resources" / "scenarios" / "esketamine-session.toml")  # the REMS form's protocol


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('read-back') / 'clinic.sqlite'}"
    assert main(["replay", ALARMS, "--json", "--db", url]) == 0
    return url


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def shown(url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(run(capsys, "sessions", "show", "1", "--json", "--db", url))


def head(url: str, capsys: pytest.CaptureFixture[str]) -> str:
    out = run(capsys, "audit", "verify", "--db", url)
    assert out.startswith("audit trail intact")
    return out.split("; head ")[1].split(";")[0].strip()


def export(url: str, fmt: str, out: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    said = run(capsys, "sessions", "export", "1", "--format", fmt, "--out", str(out), "--db", url)
    return [Path(line) for line in said.splitlines()]


def test_csv_rows_match_the_tracks_and_carry_the_head(
    replayed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, anchor = shown(replayed, capsys), head(replayed, capsys)
    (path,) = export(replayed, "csv", tmp_path / "visit.csv", capsys)
    assert path == tmp_path / "visit.csv" and list(tmp_path.iterdir()) == [path]
    with path.open(newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    models = {r["detail"]: r["device"] for r in table if r["kind"] == "device"}
    assert next(r["detail"] for r in table if r["kind"] == "audit") == anchor
    from kapmonitor.export.csv_export import metric_words

    for track in (t for t in session["tracks"] if t["kind"] == "numeric"):
        rows = [
            r
            for r in table
            if r["kind"] == "numeric"
            and r["device"] == models[track["device"]]
            and r["metric"] == metric_words(track["metric"])
        ]
        assert len(rows) == track["samples"], track
        assert (from_iso(rows[0]["time"]), from_iso(rows[-1]["time"])) == (
            from_iso(track["first"]),
            from_iso(track["last"]),
        )


def test_edf_parts_lie_within_the_tracks_and_nibp_is_annotations(
    replayed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, anchor = shown(replayed, capsys), head(replayed, capsys)
    tracks = {t["metric"]: t for t in session["tracks"]}
    paths = export(replayed, "edf", tmp_path / "visit", capsys)
    spo2_first, spo2_last = from_iso(tracks["spo2"]["first"]), from_iso(tracks["spo2"]["last"])
    spo2_samples, nibp = 0, []
    for path in paths:
        reader = pyedflib.EdfReader(str(path))
        try:
            labels = reader.getSignalLabels()
            assert not any(label.startswith("NIBP") for label in labels)
            start = reader.getStartdatetime().timestamp() * 1_000_000
            if "SpO2" in labels:
                values = reader.readSignal(labels.index("SpO2"))
                spo2_samples += len(values)
                assert start >= spo2_first - 1_000_000 and start + len(values) * 1_000_000 <= spo2_last + 2_000_000
                assert values.min() >= 50 and values.max() <= 100  # measured saturations, no digital minimum
            _, _, texts = reader.readAnnotations()
            nibp += [t for t in texts.tolist() if t.startswith("NIBP ")]
            (printed,) = [t.removeprefix("audit head ") for t in texts.tolist() if t.startswith("audit head ")]
            assert anchor.startswith(printed) and len(printed.split(":")[1]) >= 16
            said = run(capsys, "audit", "verify", "--anchor", printed, "--db", replayed)
            assert said.startswith("audit trail intact") and "matches" in said
        finally:
            reader.close()
    assert 0 < spo2_samples <= tracks["spo2"]["samples"] + 1
    assert len(nibp) == tracks["nibp_systolic"]["samples"]


def test_fhir_bundle_validates_and_matches_the_record(
    replayed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, anchor = shown(replayed, capsys), head(replayed, capsys)
    (path,) = export(replayed, "fhir", tmp_path / "visit.json", capsys)
    bundle = json.loads(path.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert bundle["identifier"]["value"] == anchor
    resources = [e["resource"] for e in bundle["entry"]]
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds["Patient"] == 1 and kinds["Device"] == len(session["devices"])
    tracks = {t["metric"]: t for t in session["tracks"]}
    panels = [r for r in resources if any(c.get("code") == "85354-9" for c in r.get("code", {}).get("coding", []))]
    assert len(panels) == tracks["nibp_systolic"]["samples"]
    notes = [r["valueString"] for r in resources if r.get("code", {}).get("text") == "Note"]
    assert len(notes) == 2  # the scenario's two [[note]] tables


def test_pdf_names_the_patient_and_prints_the_head(
    replayed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, anchor = shown(replayed, capsys), head(replayed, capsys)
    (path,) = export(replayed, "pdf", tmp_path / "visit.pdf", capsys)
    text = "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)
    assert f"Session report: patient {session['patient']}" in text
    assert f"audit head {anchor}" in text
    assert run(capsys, "audit", "verify", "--anchor", anchor, "--db", replayed).startswith("audit trail intact")


def test_rems_form_prints_the_head_a_later_verify_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    esketamine = f"sqlite:///{tmp_path / 'esketamine.sqlite'}"
    assert main(["replay", ESKETAMINE, "--json", "--db", esketamine]) == 0
    session, anchor = shown(esketamine, capsys), head(esketamine, capsys)
    (path,) = export(esketamine, "rems", tmp_path / "rems.pdf", capsys)
    text = "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)
    assert f"patient {session['patient']}" in text
    assert f"audit head {anchor}" in " ".join(text.split())
    assert run(capsys, "audit", "verify", "--anchor", anchor, "--db", esketamine).startswith("audit trail intact")


def test_hl7_file_notes_the_head_in_every_message_and_verify_takes_it(
    replayed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session, anchor = shown(replayed, capsys), head(replayed, capsys)
    (path,) = export(replayed, "hl7", tmp_path / "visit.hl7", capsys)
    messages = [m.replace("\r\n", "\r") for m in path.read_bytes().decode().split("\r\n\r\n") if m.strip()]
    assert len(messages) >= 30  # a message per charted minute of the 30-minute session
    printed = set()
    for text in messages:
        parsed = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        assert parsed.validate()
        result = parsed.oru_r01_patient_result
        assert result.oru_r01_patient.pid.pid_3.to_er7() == f"{session['patient']}^^^KAPMONITOR^PI"
        (note,) = result.oru_r01_order_observation.nte
        assert note.nte_2.to_er7() == "L"
        assert note.nte_4.to_er7() == "KAP-AUDIT-HEAD^kapmonitor audit chain head^99KAP"
        printed.add(note.nte_3.to_er7())
    assert printed == {f"audit head {anchor}"}
    assert run(capsys, "audit", "verify", "--anchor", anchor, "--db", replayed).startswith("audit trail intact")
    seq, digest = anchor.split(":")
    forged = f"{seq}:{'0' if digest[0] != '0' else '1'}{digest[1:]}"
    assert main(["audit", "verify", "--anchor", forged, "--db", replayed]) == 1
    assert "anchor" in capsys.readouterr().out.lower()

"""The soak bench runs a short accelerated session end to end: everything produced is on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import main, run


def test_a_short_accelerated_session_stores_every_reading_and_sample(tmp_path: Path) -> None:
    result = run(minutes=0.5, speed=60.0, every_s=0.1, db_path=tmp_path / "soak.sqlite")
    assert result.readings_sent == 2 * 30  # SpO2 and pulse rate once a simulated second
    assert result.readings_stored == result.readings_sent
    assert result.samples_stored == 30 * 75
    assert result.dropped == 0 and result.failure is None
    assert len(result.rss_mb) >= 2 and all(mb > 0 for mb in result.rss_mb)
    assert "60/60 readings" in result.summary()


def test_the_command_prints_one_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--minutes", "0.2", "--speed", "60", "--every", "0.1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("soak: 0.2 simulated min at x60")

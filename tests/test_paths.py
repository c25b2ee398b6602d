"""Where the shipped data files are found: a checkout or editable install, a wheel's data directory, or the
KAPMONITOR_RESOURCES override."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kapmonitor.core import paths


def test_a_checkout_reads_the_resources_beside_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAPMONITOR_RESOURCES", raising=False)
    found = paths.resources_dir()
    assert found == Path(paths.__file__).resolve().parents[2] / "resources"
    assert {"protocols", "scales", "alarm_profiles", "scenarios"} <= {p.name for p in found.iterdir()}


def test_an_installed_wheel_reads_them_from_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAPMONITOR_RESOURCES", raising=False)
    package = tmp_path / "site-packages" / "kapmonitor"
    package.mkdir(parents=True)  # no resources/ beside it, as in site-packages
    shared = tmp_path / "prefix" / "share" / "kapmonitor" / "resources"
    shared.mkdir(parents=True)
    monkeypatch.setattr(paths, "__file__", str(package / "core" / "paths.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert paths.resources_dir() == shared


def test_the_override_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPMONITOR_RESOURCES", str(tmp_path))
    assert paths.resources_dir() == tmp_path

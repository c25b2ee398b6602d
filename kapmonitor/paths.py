"""Where kapmonitor keeps its files (platformdirs, wrapped here once)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "kapmonitor"


def data_dir() -> Path:
    override = os.environ.get("KAPMONITOR_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    override = os.environ.get("KAPMONITOR_CONFIG_DIR")
    path = Path(override) if override else Path(platformdirs.user_config_dir(APP, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'kapmonitor.sqlite'}"


def resources_dir() -> Path:
    """The shipped data files (protocol templates, rating scales, alarm profiles, scenarios, tones).

    They live in ``resources/`` beside the package, which is where a source checkout and an editable install
    (what ``make`` sets up) find them; ``KAPMONITOR_RESOURCES`` points elsewhere.
    """
    override = os.environ.get("KAPMONITOR_RESOURCES")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "resources"

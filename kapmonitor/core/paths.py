"""Where kapmonitor keeps its files (platformdirs, wrapped here once)."""

from __future__ import annotations

import os
import sys
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


def cache_dir() -> Path:
    """Files kapmonitor can make again (the bold instances of the PDF's script fonts); ``KAPMONITOR_CACHE_DIR``
    overrides it. Not created here: a reader that finds it unwritable does without."""
    override = os.environ.get("KAPMONITOR_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP, appauthor=False))


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'kapmonitor.sqlite'}"


def resources_dir() -> Path:
    """The shipped data files (protocol templates, rating scales, alarm profiles, scenarios).

    ``KAPMONITOR_RESOURCES`` if set; else ``resources/`` beside the package, where a source checkout and an
    editable install (what ``make`` sets up) find them; else ``<prefix>/share/kapmonitor/resources``, where a
    wheel installs them.
    """
    override = os.environ.get("KAPMONITOR_RESOURCES")
    if override:
        return Path(override)
    beside = Path(__file__).resolve().parents[2] / "resources"
    installed = Path(sys.prefix) / "share" / "kapmonitor" / "resources"
    return installed if not beside.is_dir() and installed.is_dir() else beside

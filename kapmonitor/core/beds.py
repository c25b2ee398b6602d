"""A station's bed (or chair): the name a clinic gives the place a session is recorded at.

Each station names its bed once: ``--bed NAME`` on the command line, else ``KAPMONITOR_BED``, else the first line
of the file ``bed`` in kapmonitor's configuration folder, else the computer's name (a clinic that runs one
station per chair's computer needs to set nothing).
"""

from __future__ import annotations

import os
import socket

from kapmonitor.core.errors import UserError
from kapmonitor.core.paths import config_dir

BED_FILE = "bed"
MAX_LENGTH = 100


class BadBedName(UserError):
    """A bed name that cannot be stored: empty, too long, or with control characters."""


def checked_bed(name: str) -> str:
    """``name`` without surrounding blanks, or :class:`BadBedName` saying what is wrong with it."""
    bed = name.strip()
    if not bed:
        raise BadBedName("a bed needs a name, e.g. --bed 'chair 2'")
    if len(bed) > MAX_LENGTH:
        raise BadBedName(f"bed name {bed[:20]!r}... is {len(bed)} characters long; at most {MAX_LENGTH}")
    if any(not c.isprintable() for c in bed):
        raise BadBedName(f"bed name {bed!r} has control characters")
    return bed


def configured_bed() -> str:
    """This computer's bed: KAPMONITOR_BED, the ``bed`` file in the configuration folder, or the host name."""
    from_env = os.environ.get("KAPMONITOR_BED", "").strip()
    if from_env:
        return checked_bed(from_env)
    path = config_dir() / BED_FILE
    try:
        first = path.read_text(encoding="utf-8").strip().splitlines()
    except FileNotFoundError:
        first = []
    except OSError as error:
        raise BadBedName(f"cannot read the bed name from {path}: {error.strerror or error}") from error
    if first and first[0].strip():
        return checked_bed(first[0])
    return checked_bed(socket.gethostname() or "bed")


def bed_or_configured(name: str | None) -> str:
    return configured_bed() if name is None else checked_bed(name)

"""De-identified exports: a loaded session with its patient code pseudonymised and every time shifted.

The shift is the patient's own (``kapmonitor.store.deidentify.shift_for``): whole days, fixed by the salt and
the code, so two exports of one patient line up with each other, intervals and time of day stay exact, and the
real dates are gone. A session never holds names or dates of birth (the patient is a pseudonymous code), but
people type them into notes: free text is withheld unless asked for, and then only its dates are shifted.

The salt is a secret kept apart from the exports: ``--salt-file``, else ``KAPMONITOR_DEIDENTIFY_SALT``, else a
random salt made once and kept in the user data directory (so pseudonyms stay stable on this computer).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from pathlib import Path
from typing import Any

from kapmonitor.core.errors import UserError
from kapmonitor.core.paths import data_dir
from kapmonitor.export.loader import LinkEventData, NumericTrack, SessionData, WaveTrack
from kapmonitor.session.entries import Amendment, Entry
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.deidentify import FREE_TEXT_KEYS, FREE_TEXT_WITHHELD, deidentify, pseudonym, shift_for

SALT_ENV = "KAPMONITOR_DEIDENTIFY_SALT"
SALT_FILE = "deidentify.salt"
US_PER_DAY = 86_400_000_000
# Entry fields that hold whatever someone typed (besides the "text"/"note" kind of keys the module knows).
TYPED_FIELDS = FREE_TEXT_KEYS | {"reason"}


def load_salt(salt_file: str | Path | None = None) -> str:
    """The de-identification secret: from ``salt_file``, the environment, or this computer's own salt."""
    if salt_file is not None:
        try:
            salt = Path(salt_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise UserError(f"cannot read the salt file {salt_file}: {error.strerror}") from None
    elif os.environ.get(SALT_ENV):
        salt = os.environ[SALT_ENV].strip()
    else:
        salt = _local_salt(data_dir() / SALT_FILE)
    if len(salt) < 8:
        raise UserError("the de-identification salt must be a secret of at least 8 characters")
    return salt


def _local_salt(path: Path) -> str:
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # readable by this account only
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def deidentify_session(data: SessionData, *, salt: str, keep_free_text: bool = False) -> SessionData:
    """``data`` with the patient code replaced by its pseudonym and every time moved by the patient's shift."""
    days = shift_for(data.info.patient, salt).days
    shift = days * US_PER_DAY
    info = dataclasses.replace(
        data.info,
        patient=pseudonym(data.info.patient, salt),
        start_us=None if data.info.start_us is None else data.info.start_us + shift,
        end_us=None if data.info.end_us is None else data.info.end_us + shift,
    )
    numerics = tuple(
        NumericTrack(t.device, t.metric, _frozen(t.t_us + shift), t.values, t.flags) for t in data.numerics
    )
    waves = tuple(
        WaveTrack(w.device, w.metric, _frozen(w.starts_us + shift), w.rates_hz, w.chunks, w.flags) for w in data.waves
    )
    links = tuple(
        LinkEventData(e.t_us + shift, e.device, e.kind, _text(e.detail, salt, days, keep=True))
        for e in data.link_events
    )
    record = SessionRecord(data.record.protocol, max_mg_per_kg=data.record.max_mg_per_kg)
    record.log = [_entry(e, salt, days, keep_free_text) for e in data.record.log]
    alarms = tuple(dataclasses.replace(a, t_us=a.t_us + shift) for a in data.alarms)
    return SessionData(info, numerics, waves, links, record, alarms)


def _frozen(array: Any) -> Any:
    array.setflags(write=False)
    return array


def _text(text: str, salt: str, days: int, *, keep: bool) -> str:
    return str(deidentify(text, salt=salt, shift_days=days)) if keep else FREE_TEXT_WITHHELD


def _entry(entry: Entry, salt: str, days: int, keep_free_text: bool) -> Entry:
    changes: dict[str, Any] = {
        "t_us": entry.t_us + days * US_PER_DAY,
        "entered_us": entry.entered_us + days * US_PER_DAY,
    }
    for field in dataclasses.fields(entry):
        value = getattr(entry, field.name)
        if field.name in TYPED_FIELDS and isinstance(value, str) and value:
            changes[field.name] = _text(value, salt, days, keep=keep_free_text)
    if isinstance(entry, Amendment):
        changes["changes"] = tuple(
            (
                name,
                _text(value, salt, days, keep=keep_free_text)
                if name in TYPED_FIELDS and isinstance(value, str)
                else value,
            )
            for name, value in entry.changes
        )
    return dataclasses.replace(entry, **changes)

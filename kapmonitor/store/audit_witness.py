"""What this installation remembers of each database's audit trail: the newest entry it wrote there.

The audit chain is append-only, so every entry this installation ever wrote must still be in the trail with the
same hash. Deleting the newest entries (and the rows they vouch for) leaves a shorter chain that is whole; the
remembered head catches it without a printed anchor. The file is ``audit-heads.json`` in the configuration
directory (mode 0600), one ``SEQ:HASH`` per database (SQLite: the file's absolute path; otherwise the URL without
its password). It only ever moves forward. Losing it loses this check, never a record.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from sqlalchemy import Engine

from kapmonitor.core.paths import config_dir

log = logging.getLogger(__name__)
WITNESS_FILE = "audit-heads.json"
_lock = threading.Lock()


def database_identity(engine: Engine) -> str | None:
    """Which database this is, in words that survive a restart; None for an in-memory database."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:" or "mode=memory" in database:
            return None
        if database.startswith("file:"):
            database = database[5:].partition("?")[0]
        return f"sqlite:{Path(database).expanduser().resolve()}"
    return url.render_as_string(hide_password=True)


def _path() -> Path:
    return config_dir() / WITNESS_FILE


def _read() -> dict[str, str]:
    try:
        found = json.loads(_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("audit heads in %s not readable: %s", _path(), error)
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def remembered_head(engine: Engine) -> tuple[int, str] | None:
    identity = database_identity(engine)
    text = _read().get(identity) if identity else None
    if not text:
        return None
    seq, _, digest = text.partition(":")
    return (int(seq), digest) if seq.isdigit() and digest else None


def remember_head(engine: Engine, head: tuple[int, str]) -> None:
    """Keep ``head`` for this database unless a newer one is kept already; a failure is logged, not raised."""
    identity = database_identity(engine)
    if identity is None or head[0] == 0:
        return
    with _lock:
        heads = _read()
        known = heads.get(identity, "0:").partition(":")[0]
        if known.isdigit() and int(known) >= head[0]:
            return
        heads[identity] = f"{head[0]}:{head[1]}"
        try:
            _write(heads)
        except OSError as error:
            log.warning("audit head not remembered in %s: %s", _path(), error)


def _write(heads: dict[str, str]) -> None:
    path = _path()
    fd, temp = tempfile.mkstemp(prefix=".audit-heads-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp makes it 0600
            json.dump(heads, f, indent=1, sort_keys=True)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise

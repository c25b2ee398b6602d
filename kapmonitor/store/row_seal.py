"""What an audit entry keeps of a row it vouches for, and how a difference from it is said.

A row is sealed as its columns (all but the surrogate ``id``) the way the database gives them back, made plain
JSON (a float column always a float, a date as ISO text), and hashed as canonical JSON (``row_sha256``). A
problem with a row is one line: the table, which row, and what changed (:class:`RowProblem`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Float, Table

from kapmonitor.store.audit import canonical_json

# A user account's copy in the trail holds an HMAC of its password hash under this name, never the hash.
PASSWORD_DIGEST = "password_digest"


def sealed_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's columns (all but the surrogate ``id``) as the database gives them back: what is hashed."""
    sealed: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "id":
            continue
        value = row.get(column.name)
        if value is not None and isinstance(column.type, Float):
            value = float(value)
        elif isinstance(value, date):
            value = value.isoformat()
        sealed[column.name] = value
    return sealed


def row_sha256(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(row)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RowProblem:
    table: str
    row: str
    what: str
    session: int | None = None  # the session whose record the row belongs to
    patient: int | None = None  # the patient row it is (a patient's header is part of each of their records)

    def __str__(self) -> str:
        return f"{self.table} {self.row}: {self.what}"


def changes(was: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Each field that differs, as ``name old -> new`` (a clinical entry's JSON ``fields`` field by field)."""
    found = []
    for name in sorted(set(was) | set(now)):
        if name == "fields":
            found += changes(_fields(was.get(name)), _fields(now.get(name)))
        elif was.get(name) == now.get(name):
            continue
        elif name == PASSWORD_DIGEST:
            found.append("password hash replaced")
        else:
            found.append(f"{name} {_shown(was.get(name))} -> {_shown(now.get(name))}")
    return found


def _fields(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {"fields": text}
    return value if isinstance(value, dict) else {"fields": value}


def _shown(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)

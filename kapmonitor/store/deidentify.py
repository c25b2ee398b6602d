"""De-identified copies of session data for research and teaching exports.

A pure function over plain data (dicts, lists, dataclass records): names, dates of birth and contact details are
removed, the patient code becomes a salted hash, and every date and time is shifted by one offset per patient,
so intervals, time of day and the order of events stay exact while the real dates do not. Free text is
withheld unless asked for, and then the patient's own name is blanked out of it.

Times are recognised as: ``datetime``/``date`` values, ISO-8601 dates anywhere in text, and integers under keys
ending in ``_us`` that fall in the calendar (UTC microseconds since 1990; durations in microseconds are far
smaller).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

REMOVED_KEYS = frozenset(
    {
        "name",
        "patient_name",
        "first_name",
        "last_name",
        "given_name",
        "family_name",
        "date_of_birth",
        "dob",
        "birth_date",
        "birthdate",
        "address",
        "phone",
        "email",
        "mrn",
    }
)
NAME_KEYS = frozenset({"name", "patient_name", "first_name", "last_name", "given_name", "family_name"})
PATIENT_KEYS = frozenset({"patient", "patient_code", "patient_id_code"})
FREE_TEXT_KEYS = frozenset({"text", "note", "notes", "comment", "comments", "free_text"})
FREE_TEXT_WITHHELD = "[free text withheld]"
PSEUDONYM_PREFIX = "anon-"
MAX_SHIFT_DAYS = 365
_EPOCH_1990_US = 631_152_000_000_000
# A calendar date, alone or starting an ISO date-time, anywhere in a text (link event details quote times too).
_ISO_DATE = re.compile(r"(?<![\d-])(\d{4}-\d{2}-\d{2})(?![\d-])")
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class _Context:
    shift: timedelta
    names: tuple[str, ...] = ()


def _key(salt: bytes, purpose: str, code: str) -> bytes:
    return hmac.new(salt, f"{purpose}:{code}".encode(), hashlib.sha256).digest()


def pseudonym(code: str, salt: str | bytes) -> str:
    """The stable stand-in for a patient code under this salt (the same code gives the same pseudonym)."""
    return PSEUDONYM_PREFIX + _key(_salt(salt), "code", code).hex()[:16]


def shift_for(code: str, salt: str | bytes) -> timedelta:
    """This patient's date shift: between 1 and 365 whole days back, fixed by the salt and the code."""
    days = 1 + int.from_bytes(_key(_salt(salt), "shift", code)[:4], "big") % MAX_SHIFT_DAYS
    return timedelta(days=-days)


def _salt(salt: str | bytes) -> bytes:
    raw = salt.encode() if isinstance(salt, str) else bytes(salt)
    if len(raw) < 8:
        raise ValueError("the de-identification salt must be a secret of at least 8 characters")
    return raw


def deidentify(
    data: Any, *, salt: str | bytes, shift_days: int | None = None, keep_free_text: bool = False
) -> Any:
    """A de-identified copy of ``data``; ``shift_days`` (if given) replaces the per-patient shift for everyone."""
    raw = _salt(salt)
    fixed = timedelta(days=shift_days) if shift_days is not None else None
    return _Walker(raw, fixed, keep_free_text).walk(data, _Context(fixed or shift_for("", raw)), None)


class _Walker:
    def __init__(self, salt: bytes, fixed: timedelta | None, keep_free_text: bool) -> None:
        self.salt = salt
        self.fixed = fixed
        self.keep_free_text = keep_free_text

    def walk(self, value: Any, ctx: _Context, key: str | None) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, Mapping):
            return self._mapping(value, ctx)
        if isinstance(value, list | tuple):
            return type(value)(self.walk(v, ctx, key) for v in value)
        return self._leaf(value, ctx, key)

    def _mapping(self, record: Mapping[str, Any], ctx: _Context) -> dict[str, Any]:
        code = _patient_code(record)
        if code is not None:
            names = tuple(_names(record)) + tuple(_names(record.get("patient")))
            ctx = _Context(self.fixed or shift_for(code, self.salt), names)
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key in REMOVED_KEYS:
                continue
            if key in PATIENT_KEYS and isinstance(value, str):
                out[key] = pseudonym(value, self.salt)
            elif key in PATIENT_KEYS and isinstance(value, Mapping):
                inner = self._mapping(value, ctx)
                if isinstance(value.get("code"), str):
                    inner["code"] = pseudonym(value["code"], self.salt)
                out[key] = inner
            elif key in FREE_TEXT_KEYS and isinstance(value, str):
                kept = _shift_text(_blank_names(value, ctx.names), ctx.shift)
                out[key] = kept if self.keep_free_text else FREE_TEXT_WITHHELD
            else:
                out[key] = self.walk(value, ctx, key)
        return out

    def _leaf(self, value: Any, ctx: _Context, key: str | None) -> Any:
        if isinstance(value, datetime | date):
            return value + ctx.shift
        if isinstance(value, str):
            return _shift_text(value, ctx.shift)
        if (
            key is not None
            and key.endswith("_us")
            and isinstance(value, int)
            and not isinstance(value, bool)
            and value >= _EPOCH_1990_US
        ):
            return value + ctx.shift.days * _US_PER_DAY
        return value


def _patient_code(record: Mapping[str, Any]) -> str | None:
    for key in PATIENT_KEYS:
        value = record.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping) and isinstance(value.get("code"), str):
            return str(value["code"])
    return None


def _names(record: Any) -> list[str]:
    if not isinstance(record, Mapping):
        return []
    return [
        part
        for k in NAME_KEYS
        if isinstance(record.get(k), str)
        for part in record[k].split()
        if len(part) > 1
    ]


def _blank_names(text: str, names: tuple[str, ...]) -> str:
    for name in sorted(set(names), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(name)}\b", "[name]", text, flags=re.IGNORECASE)
    return text


def _shift_text(text: str, shift: timedelta) -> str:
    """Shift every ISO date in ``text``. Whole-day shifts change only the date: time of day, offset and
    precision stay as written."""

    def moved(found: re.Match[str]) -> str:
        try:
            return (date.fromisoformat(found[1]) + timedelta(days=shift.days)).isoformat()
        except ValueError:  # shaped like a date but not one (month 13): not a date to shift
            return found[1]

    return _ISO_DATE.sub(moved, text)

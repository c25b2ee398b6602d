"""Reading the clinic-editable TOML files (protocols, scales, quick events) with messages a clinic can use."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from kapmonitor.core.paths import resources_dir

RESOURCES = resources_dir()


class DataFileError(ValueError):
    """A protocol, scale or quick-event file that cannot be used, with where and why."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def read_toml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise DataFileError(str(path), "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(str(path), f"not valid TOML ({exc})") from None


class Fields:
    """Typed access to one TOML table; every wrong or missing field names its place in the file."""

    def __init__(self, source: str, table: object, where: str) -> None:
        if not isinstance(table, dict):
            raise DataFileError(source, f"[{where}] must be a table")
        self.source = source
        self.table = table
        self.where = where

    def fail(self, problem: str) -> DataFileError:
        return DataFileError(self.source, f"[{self.where}] {problem}")

    def _get(self, key: str, default: object, kinds: tuple[type, ...], kind_name: str) -> Any:
        if key not in self.table:
            if default is _REQUIRED:
                raise self.fail(f"is missing '{key}'")
            return default
        value = self.table[key]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise self.fail(f"'{key}' must be {kind_name} (found {value!r})")
        return value

    def text(self, key: str, default: object = None) -> Any:
        return self._get(key, _REQUIRED if default is None else default, (str,), "text")

    def number(self, key: str, default: object = None) -> Any:
        value = self._get(key, _REQUIRED if default is None else default, (int, float), "a number")
        return None if value is _NONE else float(value)

    def optional_number(self, key: str) -> float | None:
        return self.number(key, _NONE)

    def integer(self, key: str, default: object = None) -> Any:
        return self._get(key, _REQUIRED if default is None else default, (int,), "a whole number")

    def optional_integer(self, key: str) -> int | None:
        value = self._get(key, None, (int,), "a whole number")
        return None if value is None else int(value)

    def name(self, key: str, kind_name: str = "text or a number") -> str:
        """A required identifier a clinic may write as text or as a number (item 7, key 3)."""
        return str(self._get(key, _REQUIRED, (str, int), kind_name))

    def flag(self, key: str, default: bool) -> bool:
        return bool(self._get(key, default, (bool,), "true or false"))

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.fail(f"'{key}' must be one of {', '.join(choices)} (found {value!r})")
        return str(value)

    def tables(self, key: str) -> list[Fields]:
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"'{key}' must be an array of tables ([[{key}]])")
        return [Fields(self.source, v, f"{key} #{i + 1}") for i, v in enumerate(value)]

    def sub(self, key: str, required: bool = True) -> Fields:
        if key not in self.table:
            if required:
                raise DataFileError(self.source, f"missing table [{key}]")
            return Fields(self.source, {}, key)
        return Fields(self.source, self.table[key], key)


_REQUIRED = object()
_NONE: Any = object()

"""The number keys 0-9 bound to events a clinic defines (emesis, music change, ...) in quick_events.toml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kapmonitor.session.datafile import RESOURCES, DataFileError, Fields, read_toml
from kapmonitor.session.entries import QuickEvent

QUICK_EVENTS_FILE = RESOURCES / "quick_events.toml"
KEYS = tuple("0123456789")


@dataclass(frozen=True)
class QuickEventBinding:
    key: str
    code: str
    label: str


@dataclass(frozen=True)
class QuickEventMap:
    bindings: tuple[QuickEventBinding, ...]

    @classmethod
    def load(cls, path: Path | str) -> QuickEventMap:
        source = str(path)
        bindings: list[QuickEventBinding] = []
        for f in Fields(source, read_toml(path), "").tables("event"):
            key = f.name("key", "a digit 0-9")
            if key not in KEYS:
                raise f.fail(f"'key' must be one of the digits 0-9 (found {key!r})")
            if key in {b.key for b in bindings}:
                raise f.fail(f"key {key} is already bound")
            code = f.text("code")
            if code in {b.code for b in bindings}:
                raise f.fail(f"code {code!r} is already used")
            bindings.append(QuickEventBinding(key, code, f.text("label")))
        if not bindings:
            raise DataFileError(source, "defines no [[event]]")
        return cls(tuple(bindings))

    def binding(self, key: str) -> QuickEventBinding | None:
        return next((b for b in self.bindings if b.key == key), None)

    def event(self, key: str, *, t_us: int, entered_us: int, author: str) -> QuickEvent:
        """The event for a pressed key; ``t_us`` earlier than ``entered_us`` back-times it."""
        binding = self.binding(key)
        if binding is None:
            raise KeyError(f"no quick event is bound to key {key!r}")
        return QuickEvent(
            t_us=t_us, entered_us=entered_us, author=author, code=binding.code, label=binding.label
        )


def builtin_quick_events() -> QuickEventMap:
    return QuickEventMap.load(QUICK_EVENTS_FILE)

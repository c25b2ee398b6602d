"""Rating scales as data: items, ranges, short forms, scoring and the checks on what a nurse entered.

Item labels in the shipped files are our own short reminders, not the published wording (which belongs to the
scales' authors); a clinic holding a licence can put the full wording in each item's ``wording``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.session.datafile import RESOURCES, DataFileError, Fields, read_toml
from kapmonitor.session.entries import Rating

SCALES_DIR = RESOURCES / "scales"


class RatingError(ValueError):
    """Values that do not fit the scale; ``problems`` lists every one of them."""

    def __init__(self, scale: str, problems: list[str]) -> None:
        super().__init__(f"{scale}: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ScaleItem:
    key: str
    label: str
    low: int
    high: int
    rater: str = "observer"  # "patient" (the patient answers) or "observer" (the clinician judges)
    wording: str = ""


@dataclass(frozen=True)
class RatingScale:
    name: str
    title: str
    short_title: str
    items: tuple[ScaleItem, ...]
    forms: Mapping[str, tuple[str, ...]]  # short forms: name -> item keys
    has_total: bool = True
    levels: Mapping[int, str] | None = None  # meanings of the values of a single-item scale
    notable_total: int | None = None  # a total above this is commonly called notable

    @classmethod
    def load(cls, path: Path | str) -> RatingScale:
        return _parse(read_toml(path), str(path))

    def item_keys(self, form: str = "") -> tuple[str, ...]:
        if not form:
            return tuple(item.key for item in self.items)
        if form not in self.forms:
            known = ", ".join(self.forms) or "none"
            raise RatingError(self.name, [f"no short form {form!r} (forms: {known})"])
        return self.forms[form]

    def problems(self, values: Mapping[str, int], form: str = "") -> list[str]:
        """Everything wrong with entered values: out of range, not whole numbers, missing or unknown items.

        A scale without a total (the patient's 0-10 ratings) takes any non-empty subset of its items.
        """
        wanted = self.item_keys(form)
        by_key = {item.key: item for item in self.items}
        found: list[str] = []
        for key in values:
            if key not in wanted:
                found.append(f"item {key!r} is not part of {form or self.name}")
        if not self.has_total and not any(key in values for key in wanted):
            found.append("no item was rated")
        for key in wanted:
            item = by_key[key]
            if key not in values:
                if self.has_total:
                    found.append(f"item {key} ({item.label}) is missing")
                continue
            value = values[key]
            if isinstance(value, bool) or not isinstance(value, int):
                found.append(f"item {key} ({item.label}) must be a whole number, not {value!r}")
            elif not item.low <= value <= item.high:
                found.append(f"item {key} ({item.label}) is {value}, outside {item.low} to {item.high}")
        return found

    def total(self, values: Mapping[str, int], form: str = "") -> int:
        problems = self.problems(values, form)
        if problems:
            raise RatingError(self.name, problems)
        return sum(values[key] for key in self.item_keys(form))

    def form_total(self, form: str, values: Mapping[str, int]) -> int:
        """The short-form total taken from a full set of answers (e.g. CADSS-6 from all 23 items)."""
        return sum(self._checked_subset(form, values).values())

    def _checked_subset(self, form: str, values: Mapping[str, int]) -> dict[str, int]:
        subset = {key: values[key] for key in self.item_keys(form) if key in values}
        problems = self.problems(subset, form)
        if problems:
            raise RatingError(self.name, problems)
        return subset

    def rate(
        self, values: Mapping[str, int] | int, *, t_us: int, entered_us: int, author: str, form: str = ""
    ) -> Rating:
        """A validated rating entry. A single-item scale takes its value directly (``moaas.rate(5, ...)``)."""
        if isinstance(values, Mapping):
            answers = values
        elif len(self.items) == 1:
            answers = {self.items[0].key: values}  # problems() refuses anything but a whole number
        else:
            raise RatingError(self.name, ["has several items: give a value per item"])
        score = self.total(answers, form) if self.has_total or len(self.items) == 1 else None
        if score is None:
            problems = self.problems(answers, form)
            if problems:
                raise RatingError(self.name, problems)
        ordered = tuple((key, int(answers[key])) for key in self.item_keys(form) if key in answers)
        return Rating(
            t_us=t_us,
            entered_us=entered_us,
            author=author,
            scale=self.name,
            form=form,
            values=ordered,
            score=score,
        )


def _parse(data: dict, source: str) -> RatingScale:
    head = Fields(source, data, "").sub("scale")
    name = head.text("name")
    low, high = head.integer("low"), head.integer("high")
    if low >= high:
        raise head.fail(f"'low' ({low}) must be below 'high' ({high})")
    items: list[ScaleItem] = []
    for f in Fields(source, data, "").tables("items"):
        key = f.name("key")
        if key in {i.key for i in items}:
            raise f.fail(f"repeats item key {key!r}")
        items.append(
            ScaleItem(
                key,
                f.text("label"),
                f.integer("low", low),
                f.integer("high", high),
                f.choice("rater", ("patient", "observer"), "observer"),
                f.text("wording", ""),
            )
        )
    if not items:
        raise DataFileError(source, "has no [[items]]")
    keys = {item.key for item in items}
    forms: dict[str, tuple[str, ...]] = {}
    form_table = Fields(source, data.get("forms", {}), "forms")
    for form, members in form_table.table.items():
        if not isinstance(members, list) or not members:
            raise form_table.fail(f"'{form}' must be a list of item keys")
        unknown = [str(m) for m in members if str(m) not in keys]
        if unknown:
            raise form_table.fail(f"'{form}' names unknown items {', '.join(unknown)}")
        forms[form] = tuple(str(m) for m in members)
    levels = _levels(Fields(source, data.get("levels", {}), "levels"), low, high)
    return RatingScale(
        name,
        head.text("title"),
        head.text("short_title", name),
        tuple(items),
        forms,
        head.flag("has_total", True),
        levels,
        head.optional_integer("notable_total"),
    )


def _levels(f: Fields, low: int, high: int) -> dict[int, str] | None:
    levels: dict[int, str] = {}
    for key, text in f.table.items():
        try:
            value = int(key)
        except ValueError:
            raise f.fail(f"{key!r} is not a whole number") from None
        if not low <= value <= high or not isinstance(text, str):
            raise f.fail(f"level {key} must be a description of a value from {low} to {high}")
        levels[value] = text
    return levels or None


def builtin_scales() -> dict[str, RatingScale]:
    scales = (RatingScale.load(p) for p in sorted(SCALES_DIR.glob("*.toml")))
    return {scale.name: scale for scale in scales}

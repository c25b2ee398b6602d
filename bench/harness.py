"""A tiny harness: each benchmark module returns measured figures with their budgets."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    budget: float | None  # None: reported, not budgeted
    higher_is_better: bool = False
    note: str = ""

    @property
    def passed(self) -> bool:
        if self.budget is None:
            return True
        return self.value >= self.budget if self.higher_is_better else self.value <= self.budget

    def row(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        budget = "" if self.budget is None else f"{op} {self.budget:g} {self.unit}"
        verdict = "-" if self.budget is None else ("pass" if self.passed else "**FAIL**")
        return f"| {self.name} | {self.value:.3g} {self.unit} | {budget} | {verdict} | {self.note} |"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, Python {platform.python_version()}"


Benchmark = Callable[[], list[Figure]]

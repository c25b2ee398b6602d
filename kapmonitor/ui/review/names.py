"""What the review calls each track: the metric in the clinic's words with its unit, and the device model where
two devices gave the same metric ("Pulse bpm · Nonin oximeter" beside "Pulse bpm · SunTech Advantage")."""

from __future__ import annotations

from collections import Counter

from kapmonitor.core.metrics import METRICS
from kapmonitor.devices.registry import model_of
from kapmonitor.export.analysis import Series

# The review's own words where the metric's short label would mislead beside the vital signs.
METRIC_NAMES = {
    "nibp_systolic": "Systolic",
    "nibp_diastolic": "Diastolic",
    "nibp_mean": "Mean",
    "cuff_pressure": "Cuff inflation",
    "pleth": "Pleth",
}
PLETH_UNIT = "(relative)"  # the review draws the pleth scaled to its recording's range, not in device counts


def metric_name(metric: str) -> str:
    info = METRICS.get(metric)
    return METRIC_NAMES.get(metric, info.label if info else metric)


def metric_unit(metric: str) -> str:
    if metric == "pleth":
        return PLETH_UNIT
    info = METRICS.get(metric)
    return info.unit if info else ""


def track_labels(series: list[Series], separator: str = " \u00b7 ") -> dict[Series, str]:
    """Each track's name: "Pulse bpm", and where another device gave the same metric, its model after
    ``separator`` (or, with two devices of one model, the device's address)."""
    per_metric = Counter(s.metric for s in series)
    models = Counter((s.metric, model_of(s.device)) for s in series)
    labels: dict[Series, str] = {}
    for s in series:
        label = f"{metric_name(s.metric)} {metric_unit(s.metric)}".strip()
        if per_metric[s.metric] > 1:
            model = model_of(s.device)
            label += separator + (model if models[(s.metric, model)] == 1 else s.device)
        labels[s] = label
    return labels

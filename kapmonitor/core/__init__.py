"""Domain types and vocabulary shared by every other package. No Qt, no I/O."""

from kapmonitor.core.metrics import FLAGS, METRICS, MetricInfo, metric_info
from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind, Reading, WaveChunk

__all__ = [
    "FLAGS",
    "METRICS",
    "DecodeError",
    "Item",
    "LinkEvent",
    "LinkEventKind",
    "MetricInfo",
    "Reading",
    "WaveChunk",
    "metric_info",
]

"""What the Bluetooth characteristic tests share (imported by test_ble_bpm and test_ble_plx)."""

from __future__ import annotations

from hypothesis import strategies as st

from kapmonitor.core.readings import Reading
from kapmonitor.devices.ble.ieee11073 import DateTime


def readings(items: list) -> dict[str, Reading]:
    return {i.metric: i for i in items if isinstance(i, Reading)}


# Every field over its whole range, 0 included (the Date Time field's "not known").
date_times = st.builds(
    DateTime,
    st.integers(0, 9999),
    st.integers(0, 12),
    st.integers(0, 31),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
)

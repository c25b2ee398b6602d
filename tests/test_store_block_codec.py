"""Blocks of recorded rows: whatever rows go in come out exactly (ids, times, None, float bits, flags, bytes), a
minute of 1-Hz readings takes a few bytes a reading, and damaged bytes are refused with one clear error."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.store.block_codec import NUMERIC_SCHEMA, WAVE_SCHEMA, Blobs, BlockError, decode, decode_many, encode
from kapmonitor.store.wave_codec import encode as encode_wave

INT64 = st.integers(-(2**63), 2**63 - 1)
FLAGS = st.sampled_from(["", "artifact", "low_perfusion,searching", "sensor_off", "ünïcode flag"]) | st.text()
READING = st.tuples(INT64, INT64, st.none() | INT64, st.none() | st.floats(), FLAGS)
WAVE_ROW = st.tuples(
    INT64, INT64, st.floats(allow_nan=False), st.integers(0, 2**31 - 1), st.binary(max_size=300), FLAGS
)
T0 = 1_763_700_000_000_000


def _bits(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Rows with floats as their bits, so NaN equals NaN and -0.0 differs from 0.0."""
    return [tuple(struct.pack("<d", v) if isinstance(v, float) else v for v in row) for row in rows]


@given(st.lists(READING, max_size=200))
def test_readings_round_trip_exactly(rows: list[tuple[object, ...]]) -> None:
    assert _bits(decode(NUMERIC_SCHEMA, encode(NUMERIC_SCHEMA, rows)).rows()) == _bits(rows)


@given(st.lists(WAVE_ROW, max_size=60))
def test_waveform_rows_round_trip_exactly(rows: list[tuple[object, ...]]) -> None:
    assert _bits(decode(WAVE_SCHEMA, encode(WAVE_SCHEMA, rows)).rows()) == _bits(rows)


@given(st.lists(st.lists(READING, max_size=20), max_size=6))
def test_blocks_decoded_together_are_their_rows_in_block_order(blocks: list[list[tuple[object, ...]]]) -> None:
    joined = decode_many(NUMERIC_SCHEMA, [encode(NUMERIC_SCHEMA, rows) for rows in blocks])
    assert _bits(joined.rows()) == _bits([row for rows in blocks for row in rows])
    assert joined.n == sum(len(rows) for rows in blocks)


def test_columns_come_back_as_arrays_with_none_as_missing() -> None:
    rows = [(7, T0, None, 97.0, ""), (11, T0 + 1_000_000, T0 - 5, None, "artifact")]
    columns = decode(NUMERIC_SCHEMA, encode(NUMERIC_SCHEMA, rows))
    assert columns.values["t_us"].tolist() == [T0, T0 + 1_000_000]
    assert columns.present["value"].tolist() == [True, False]
    assert columns.column("t_device_us") == [None, T0 - 5]
    assert columns.values["flags"] == ("", "artifact")


def test_five_minutes_of_one_hz_readings_take_a_few_bytes_each() -> None:
    """SpO2 once a second with a flag now and then: the row ids step by 3-5 (other tracks between)."""
    rows = [
        (1000 + 4 * s + s % 2, T0 + s * 1_000_000 + (s * 37) % 900, None, 96.0 + (s // 40) % 4,
         "artifact" if s % 50 == 0 else "")
        for s in range(300)
    ]
    size = len(encode(NUMERIC_SCHEMA, rows))
    assert size < 3 * len(rows)  # a reading row in SQLite with its covering index took about 83 bytes


def test_pleth_rows_cost_little_beyond_their_samples() -> None:
    samples = [encode_wave(list(range(2000 + k, 2075 + k))) for k in range(300)]
    rows = [(5000 + 4 * k, T0 + k * 1_000_000, 75.0, 75, s, "") for k, s in enumerate(samples)]
    assert len(encode(WAVE_SCHEMA, rows)) < sum(len(s) for s in samples) + 3 * len(rows)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x09" + b"x",
        b"\x01\x08\x00\x00\x00not zlib",
        b"\x01\xff\x00\x00\x00short",
        b"\x01\x0c\x00\x00\x00" + zlib.compress(b"\x02\x00\x00\x00"),
    ],
)
def test_damaged_bytes_are_refused_with_one_error(payload: bytes) -> None:
    with pytest.raises(BlockError):
        decode(NUMERIC_SCHEMA, payload)


def test_a_value_that_is_not_a_number_is_refused_at_encoding() -> None:
    with pytest.raises(ValueError, match="column 'value'"):
        encode(NUMERIC_SCHEMA, [(1, T0, None, "ninety", "")])


@given(st.lists(st.binary(max_size=40), max_size=30), st.randoms())
def test_a_bytes_column_reordered_is_its_rows_in_that_order(blobs: list[bytes], rng: object) -> None:
    order = list(range(len(blobs)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    moved = Blobs.of(blobs).reordered(np.array(order, dtype=np.int64))
    assert moved.tolist() == [blobs[i] for i in order]

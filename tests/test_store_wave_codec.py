"""Waveform rows on disk: 16-bit steps when they fit (half the bytes), 32-bit samples otherwise, and a track of
rows of both kinds (older rows are all 32-bit) decoded back exactly in one pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.store.wave_codec import decode, decode_rows, encode

INT32 = st.integers(-(2**31), 2**31 - 1)


def test_a_pleth_row_takes_two_bytes_a_sample() -> None:
    pleth = np.array([2000, 2012, 2040, 2101, 2190, 2301, 2290, 2100], dtype=np.int32)
    assert len(encode(pleth)) == 2 * len(pleth)
    assert decode(encode(pleth), len(pleth)).tolist() == pleth.tolist()


def test_a_row_with_a_step_too_big_for_16_bits_keeps_32_bit_samples() -> None:
    jumpy = np.array([0, 40_000, -40_000, 5], dtype=np.int32)
    assert len(encode(jumpy)) == 4 * len(jumpy)
    assert decode(encode(jumpy), 4).tolist() == [0, 40_000, -40_000, 5]


def test_rows_written_before_this_encoding_read_as_they_were() -> None:
    old = np.arange(75, dtype="<i4").tobytes()  # every row stored before: plain int32
    new = encode(np.arange(75, 150))
    assert decode_rows([old, new, old], [75, 75, 75]).tolist() == [*range(150), *range(75)]


@given(st.lists(st.lists(INT32, min_size=1, max_size=80), max_size=12))
def test_any_rows_decode_to_what_was_encoded(rows: list[list[int]]) -> None:
    blobs = [encode(np.array(r, dtype=np.int64)) for r in rows]
    assert decode_rows(blobs, [len(r) for r in rows]).tolist() == [v for r in rows for v in r]


def test_bytes_that_do_not_match_the_row_length_are_refused() -> None:
    with pytest.raises(ValueError, match="7 bytes for 3 samples"):
        decode(b"\x00" * 7, 3)

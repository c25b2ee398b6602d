"""Waveform rows on disk: 8-bit second differences when they fit (about a quarter of the bytes), 16-bit steps
when those fit (half), 32-bit samples otherwise, and a track of rows of all kinds (older versions wrote only the
last two) decoded back exactly in one pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kapmonitor.store.wave_codec import decode, decode_rows, encode

INT32 = st.integers(-(2**31), 2**31 - 1)
# a smooth waveform: a start, a slope and small changes of the slope (with now and then a jump)
SMOOTH = st.builds(
    lambda start, slope, curve: np.clip(
        start + np.cumsum(np.cumsum([slope, *curve], dtype=np.int64)), -(2**31), 2**31 - 1
    ).tolist(),
    INT32,
    st.integers(-(2**17), 2**17),
    st.lists(st.integers(-130, 130), max_size=80),
)


def _seconds_of_pleth(seconds: int) -> list[np.ndarray]:
    """A 75 Hz pleth, one row a second: a beat at 72/min with a dicrotic notch and a few counts of noise."""
    rng = np.random.default_rng(3)
    t = np.arange(75 * seconds) / 75
    beat = 1400 * np.sin(2 * np.pi * 1.2 * t) + 300 * np.sin(4 * np.pi * 1.2 * t + 0.6)
    wave = (2000 + beat + rng.normal(0, 12, len(t))).astype(np.int32)
    return np.split(wave, seconds)


def test_a_second_of_pleth_takes_about_a_byte_a_sample() -> None:
    rows = _seconds_of_pleth(60)
    sizes = [len(encode(row)) for row in rows]
    assert sizes.count(75 + 6) >= 55  # a rare row whose noise bends the curve too much keeps 16-bit steps
    assert set(sizes) <= {75 + 6, 2 * 75}
    assert decode_rows([encode(r) for r in rows], [75] * 60).tolist() == np.concatenate(rows).tolist()


def test_a_pleth_row_takes_two_bytes_a_sample() -> None:
    pleth = np.array([2000, 2012, 2040, 2101, 2190, 2301, 2290, 2100], dtype=np.int32)
    assert len(encode(pleth)) == 2 * len(pleth)
    assert decode(encode(pleth), len(pleth)).tolist() == pleth.tolist()


def test_a_row_with_a_step_too_big_for_16_bits_keeps_32_bit_samples() -> None:
    jumpy = np.array([0, 40_000, -40_000, 5], dtype=np.int32)
    assert len(encode(jumpy)) == 4 * len(jumpy)
    assert decode(encode(jumpy), 4).tolist() == [0, 40_000, -40_000, 5]


def test_rows_written_before_this_encoding_read_as_they_were() -> None:
    old = np.arange(75, dtype="<i4").tobytes()  # the first rows stored: plain int32
    steps = np.diff(np.arange(75, 150), prepend=0).astype("<i2").tobytes()  # then: 16-bit steps
    new = encode(np.arange(150, 225))
    assert len(new) == 75 + 6
    assert decode_rows([old, steps, new, old], [75] * 4).tolist() == [*range(225), *range(75)]


@pytest.mark.parametrize("n", [2, 6])
def test_rows_whose_8_bit_form_would_be_as_long_as_another_kind_are_never_written_in_it(n: int) -> None:
    ramp = np.arange(n) * 3
    assert len(encode(ramp)) in (2 * n, 4 * n)
    assert decode(encode(ramp), n).tolist() == ramp.tolist()


@given(st.lists(st.one_of(SMOOTH, st.lists(INT32, min_size=1, max_size=80)), max_size=12))
def test_any_rows_decode_to_what_was_encoded(rows: list[list[int]]) -> None:
    blobs = [encode(np.array(r, dtype=np.int64)) for r in rows]
    assert decode_rows(blobs, [len(r) for r in rows]).tolist() == [v for r in rows for v in r]


def test_bytes_that_do_not_match_the_row_length_are_refused() -> None:
    with pytest.raises(ValueError, match="7 bytes for 3 samples"):
        decode(b"\x00" * 7, 3)

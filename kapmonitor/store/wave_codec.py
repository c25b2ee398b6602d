"""How a waveform row's samples are stored: as 8-bit second differences when they fit, else as 16-bit
differences when those fit, else as plain 32-bit samples.

A pleth (or any slow device waveform) is smooth: its slope changes by a few counts from one sample to the next,
so its second differences fit in 8 bits and a row takes about a quarter of the space of 32-bit samples (about
a second of a 75 Hz pleth: 81 bytes instead of 150 as 16-bit steps or 300 as samples). General-purpose
compression (zlib) gains nothing on top: what is left is the sensor's noise. Decoding stays a few vectorised
passes over a whole track (running sums restarted at each row), not a decompression per row.

The bytes tell their own encoding by their length against the row's ``n_samples`` (``n``):

- ``4 * n`` bytes: little-endian int32 samples (rows whose steps do not fit 16 bits, and every row written
  before the 16-bit encoding);
- ``2 * n`` bytes: little-endian int16; the first is the first sample, each next one the difference to the one
  before (the row's samples are their running sum);
- ``n + 6`` bytes (``n >= 3``, never written for ``n`` of 2 or 6, where it would be taken for the two above):
  the first sample and the first difference as little-endian int32, then ``n - 2`` int8 second differences
  (each the change of the difference from one sample to the next).

Rows of all three kinds may follow one another in a track: older versions wrote only the first two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_I16 = np.iinfo(np.int16)
_I8 = np.iinfo(np.int8)
_HEAD = 8  # bytes before the second differences: first sample, first difference
_INT32, _STEPS16, _CURVE8 = 0, 1, 2


def encode(samples: np.ndarray) -> bytes:
    """The stored bytes of one row's int32 ``samples``."""
    values = np.asarray(samples, dtype=np.int64)
    n = len(values)
    if n >= 3 and n + 6 not in (2 * n, 4 * n):
        curve = np.diff(values, n=2)
        if curve.min() >= _I8.min and curve.max() <= _I8.max:
            # int32 arithmetic wraps, so the first difference kept modulo 2**32 still sums back exactly
            head = np.array([values[0], values[1] - values[0]], dtype=np.int64).astype("<u4").view("<i4")
            return head.tobytes() + curve.astype("<i1").tobytes()
    steps = np.diff(values, prepend=0)
    if len(steps) and (steps.min() < _I16.min or steps.max() > _I16.max):
        return values.astype("<i4").tobytes()
    return steps.astype("<i2").tobytes()


def decode(data: bytes, n_samples: int) -> np.ndarray:
    """One row's samples as int32."""
    return decode_rows([data], [n_samples])


def _kinds(sizes: np.ndarray, n: np.ndarray) -> np.ndarray:
    kinds = np.full(len(sizes), -1, dtype=np.int8)
    kinds[(sizes == n + 6) & (n >= 3)] = _CURVE8
    kinds[sizes == 2 * n] = _STEPS16  # n of 6 (and 0): 16-bit steps, never the 8-bit form
    kinds[sizes == 4 * n] = _INT32  # n of 2: int32 samples
    if (kinds < 0).any():
        bad = int(np.flatnonzero(kinds < 0)[0])
        raise ValueError(f"waveform row {bad} holds {sizes[bad]} bytes for {n[bad]} samples")
    return kinds


def decode_rows(blobs: Sequence[bytes], counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """The samples of consecutive rows, joined into one int32 array in row order."""
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    return decode_joined(b"".join(blobs), sizes, counts)


def decode_joined(data: bytes, sizes: np.ndarray, counts: Sequence[int] | np.ndarray) -> np.ndarray:
    """The samples of consecutive rows whose stored bytes are ``data``, one row's ``sizes[i]`` bytes after
    another (as a packed block keeps them), joined into one int32 array in row order."""
    n = np.asarray(counts, dtype=np.int64)
    if not len(n):
        return np.empty(0, dtype=np.int32)
    if int(sizes.sum()) != len(data):
        raise ValueError(f"waveform rows of {int(sizes.sum())} bytes in all, given {len(data)}")
    kinds = _kinds(sizes, n)
    present = np.unique(kinds)
    if len(present) == 1:
        return _decode_kind(int(present[0]), data, sizes, n)
    out = np.empty(int(n.sum()), dtype=np.int32)
    raw = np.frombuffer(data, dtype=np.uint8)
    for kind in present.tolist():
        rows = kinds == kind
        picked = raw[np.repeat(rows, sizes)].tobytes()
        out[np.repeat(rows, n)] = _decode_kind(kind, picked, sizes[rows], n[rows])
    return out


def _decode_kind(kind: int, data: bytes, sizes: np.ndarray, n: np.ndarray) -> np.ndarray:
    if kind == _INT32:
        return np.frombuffer(data, dtype="<i4").astype(np.int32)
    if kind == _STEPS16:
        steps = np.frombuffer(data, dtype="<i2").astype(np.int32)
        return _sum_rows_in_place(steps, np.cumsum(n) - n)
    return _curves(data, n)


def _curves(data: bytes, n: np.ndarray) -> np.ndarray:
    """Rows of 8-bit second differences back to their samples: the differences are the running sum of the first
    difference and the second ones, the samples the running sum of the first sample and the differences.

    Worked on the stored bytes in place: each row's 8 head bytes become 6 zeros, the first sample and the first
    difference, so every row is ``n + 6`` values whose last ``n`` are what is summed."""
    joined = np.frombuffer(data, dtype=np.int8)
    spans = n + 6
    row_at = np.cumsum(spans) - spans
    head = joined.view(np.uint8)[(row_at[:, None] + np.arange(_HEAD)).ravel()].view("<i4").reshape(-1, 2)
    stream = joined.astype(np.int32)
    heads = (row_at[:, None] + np.arange(6)).ravel()
    stream[heads] = 0
    stream[row_at + 6] = 0
    stream[row_at + 7] = head[:, 1]
    _sum_rows_in_place(stream, row_at)  # 0 at the first sample, then each difference to the one before
    stream[row_at + 6] = head[:, 0]
    _sum_rows_in_place(stream, row_at)
    kept = np.ones(len(stream), dtype=bool)
    kept[heads] = False
    return stream[kept]


def _sum_rows_in_place(values: np.ndarray, row_starts: np.ndarray) -> np.ndarray:
    """``values`` (int32, rows of at least one value starting at ``row_starts``) replaced by their running sum
    restarted at each row: each row's first value less what the row before summed to, then one running sum.
    int32 arithmetic wraps, and the wrapped sums are still the right samples."""
    row_sums = np.add.reduceat(values, row_starts, dtype=np.int32)
    values[row_starts[1:]] -= row_sums[:-1]
    return np.cumsum(values, dtype=np.int32, out=values)

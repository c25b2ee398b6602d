"""How a waveform row's samples are stored: as 16-bit differences when they fit, else as plain 32-bit samples.

A pleth (or any slow device waveform) changes by a few counts from one sample to the next, so its differences
fit in 16 bits and the row takes half the space of 32-bit samples, while decoding stays one vectorised pass
over a whole track (a running sum restarted at each row), not a decompression per row.

The bytes tell their own encoding by their length against the row's ``n_samples``:

- ``2 * n`` bytes: little-endian int16; the first is the first sample, each next one the difference to the one
  before (the row's samples are their running sum);
- ``4 * n`` bytes: little-endian int32 samples (rows whose values or steps do not fit 16 bits, and every row
  written before this encoding).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_I16 = np.iinfo(np.int16)


def encode(samples: np.ndarray) -> bytes:
    """The stored bytes of one row's int32 ``samples``."""
    values = np.asarray(samples, dtype=np.int64)
    steps = np.diff(values, prepend=0)
    if len(steps) and (steps.min() < _I16.min or steps.max() > _I16.max):
        return values.astype("<i4").tobytes()
    return steps.astype("<i2").tobytes()


def decode(data: bytes, n_samples: int) -> np.ndarray:
    """One row's samples as int32."""
    return decode_rows([data], [n_samples])


def decode_rows(blobs: Sequence[bytes], counts: Sequence[int]) -> np.ndarray:
    """The samples of consecutive rows, joined into one int32 array in row order."""
    n = np.asarray(counts, dtype=np.int64)
    if not len(blobs):
        return np.empty(0, dtype=np.int32)
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
    wide = sizes == 4 * n
    if not np.all(wide | (sizes == 2 * n)):
        bad = int(np.flatnonzero(~(wide | (sizes == 2 * n)))[0])
        raise ValueError(f"waveform row {bad} holds {sizes[bad]} bytes for {n[bad]} samples")
    if wide.all():
        return np.frombuffer(b"".join(blobs), dtype="<i4").astype(np.int32)
    if not wide.any():
        return _summed(b"".join(blobs), n)
    out = np.empty(int(n.sum()), dtype=np.int32)
    starts = np.cumsum(n) - n
    for rows, values in (
        (np.flatnonzero(wide), lambda b, _: np.frombuffer(b, dtype="<i4")),
        (np.flatnonzero(~wide), _summed),
    ):
        lengths = n[rows]
        got = values(b"".join([blobs[i] for i in rows.tolist()]), lengths)
        offsets = np.repeat(starts[rows] - (np.cumsum(lengths) - lengths), lengths)
        out[np.arange(len(got)) + offsets] = got
    return out


def _summed(joined: bytes, lengths: np.ndarray) -> np.ndarray:
    """Rows of 16-bit steps back to their samples: one running sum over them all, less what earlier rows carried
    into each row. int32 arithmetic wraps, and the wrapped difference is still the right sample."""
    steps = np.frombuffer(joined, dtype="<i2").astype(np.int32)
    running = np.cumsum(steps, dtype=np.int32)
    first = np.cumsum(lengths) - lengths
    carried = running[first] - steps[first]
    return running - np.repeat(carried, lengths)

"""How a block of recorded rows is stored: many rows of one track in one binary value, column by column.

The recorder first writes each reading (and each ~1-s waveform row) as a row of its own, so it is on disk within
a fraction of a second; every few minutes it moves a track's rows into one block (``store/packing.py``). A row
costs a database far more than its few numbers (SQLite's row and covering-index entry, PostgreSQL's 28-byte
tuple header and its index tuples), so a block of a few hundred rows is several times smaller than the rows.

A block keeps every column of every row exactly (the row's id too, so a reader that follows new rows by id
still can): decoding gives back the same integers, the same float bits, the same None, the same strings and
bytes. Its bytes are one format byte, the size of the compressed part (uint32), zlib over the columns in the
schema's order, and then the ``bytes`` columns' bytes as they are (a waveform's ``wave_codec`` bytes are mostly
the sensor's noise: zlib would only spend time on them):

- ``int``: int64, each the difference to the one before (the first to 0); the 8 bytes of the values stored as
  8 planes (all first bytes, then all second bytes, ...), so zlib sees the long runs of zero high bytes;
- ``int?`` / ``float?``: one byte per row, 1 where the row has a value, then the values present as ``int`` or
  ``float`` (None is not a number: a missing value stays missing);
- ``float``: float64 bits in 8 planes (no differences: a value comes back with its exact bits);
- ``text``: the distinct strings (count, lengths, UTF-8), then each row's index into them as uint32 planes;
- ``bytes``: the lengths as ``int``; the bytes themselves one after another after the compressed part.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, Literal

import numpy as np

FORMAT = 1
Kind = Literal["int", "int?", "float", "float?", "text", "bytes"]
Schema = tuple[tuple[str, Kind], ...]

# A reading: its staging row's id, host time, device time (None: the device sent none), value (None: no value),
# flags (sorted, comma-separated).
NUMERIC_SCHEMA: Schema = (
    ("id", "int"),
    ("t_us", "int"),
    ("t_device_us", "int?"),
    ("value", "float?"),
    ("flags", "text"),
)
# A waveform row: its staging row's id, first sample's time, rate, sample count, samples (wave_codec), flags.
WAVE_SCHEMA: Schema = (
    ("id", "int"),
    ("t_us", "int"),
    ("rate_hz", "float"),
    ("n_samples", "int"),
    ("samples", "bytes"),
    ("flags", "text"),
)
_U32 = np.dtype("<u4")


@dataclass(frozen=True, eq=False)
class Blobs:
    """A ``bytes`` column: the rows' bytes one after another, and each row's size (no object per row, so a
    track of 14,000 waveform rows is decoded from one buffer)."""

    data: bytes
    sizes: np.ndarray  # int64

    @classmethod
    def of(cls, blobs: Sequence[bytes]) -> Blobs:
        sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs))
        return cls(b"".join(blobs), sizes)

    @classmethod
    def joined(cls, parts: Sequence[Blobs]) -> Blobs:
        sizes = np.concatenate([p.sizes for p in parts]) if parts else np.empty(0, dtype=np.int64)
        return cls(b"".join(p.data for p in parts), sizes)

    def __len__(self) -> int:
        return len(self.sizes)

    def tolist(self) -> list[bytes]:
        ends = np.cumsum(self.sizes).tolist()
        return [self.data[a:b] for a, b in zip([0, *ends], ends, strict=False)]

    def reordered(self, order: np.ndarray) -> Blobs:
        """The rows in the order of the row indices ``order``."""
        starts = np.cumsum(self.sizes) - self.sizes
        sizes = self.sizes[order]
        if not len(sizes):
            return self
        # each output byte's source: its row's start plus its place in the row
        out_starts = np.cumsum(sizes) - sizes
        source = np.repeat(starts[order] - out_starts, sizes) + np.arange(int(sizes.sum()))
        return Blobs(np.frombuffer(self.data, dtype=np.uint8)[source].tobytes(), sizes)


class BlockError(ValueError):
    """The stored bytes are not a block of this schema (damaged, or written by a newer kapmonitor)."""


@dataclass(frozen=True)
class Columns:
    """Decoded rows, column by column: ``int`` as int64 arrays, ``float`` as float64 arrays, an optional column
    as its values (0 / NaN where missing) plus ``present`` (bool), ``text`` as a tuple of str, ``bytes`` as
    :class:`Blobs`."""

    n: int
    values: dict[str, Any]
    present: dict[str, np.ndarray]

    def column(self, name: str) -> list[Any]:
        """One column as Python values, None where an optional column has no value."""
        values = self.values[name]
        plain = list(values) if isinstance(values, tuple) else values.tolist()  # Blobs.tolist(): bytes
        if name not in self.present:
            return plain
        return [v if p else None for v, p in zip(plain, self.present[name].tolist(), strict=True)]

    def rows(self) -> list[tuple[Any, ...]]:
        return list(zip(*(self.column(name) for name in self.values), strict=True))


# -- encoding -------------------------------------------------------------------------------------------------


def encode(schema: Schema, rows: Sequence[Sequence[Any]]) -> bytes:
    """One block of ``rows`` (tuples in the schema's column order)."""
    parts: list[bytes] = [len(rows).to_bytes(4, "little")]
    raw: list[bytes] = []
    for k, (name, kind) in enumerate(schema):
        column = [row[k] for row in rows]
        try:
            if kind == "bytes":
                blobs = [bytes(v) for v in column]
                parts.append(_ints([len(b) for b in blobs]))
                raw += blobs
            else:
                parts.append(_ENCODERS[kind](column))
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"column {name!r} cannot be stored as {kind}: {error}") from error
    packed = zlib.compress(b"".join(parts), 6)
    return bytes([FORMAT]) + len(packed).to_bytes(4, "little") + packed + b"".join(raw)


def _planes(values: np.ndarray) -> bytes:
    """The values' bytes as planes: every value's byte 0, then every value's byte 1, ..."""
    return np.ascontiguousarray(values.view(np.uint8).reshape(len(values), values.itemsize).T).tobytes()


def _ints(column: Sequence[Any]) -> bytes:
    values = np.array(column, dtype="<i8") if column else np.empty(0, dtype="<i8")
    return _planes(np.diff(values, prepend=np.int64(0)).astype("<i8"))


def _floats(column: Sequence[Any]) -> bytes:
    return _planes(np.array(column, dtype="<f8") if column else np.empty(0, dtype="<f8"))


def _optional(encode_present: Any) -> Any:
    def encode_column(column: Sequence[Any]) -> bytes:
        mask = bytes(0 if v is None else 1 for v in column)
        return mask + encode_present([v for v in column if v is not None])

    return encode_column


def _texts(column: Sequence[Any]) -> bytes:
    table: dict[str, int] = {}
    indices = np.array([table.setdefault(str(v), len(table)) for v in column], dtype=_U32)
    encoded = [s.encode("utf-8") for s in table]
    lengths = np.array([len(e) for e in encoded], dtype=_U32)
    return len(table).to_bytes(4, "little") + lengths.tobytes() + b"".join(encoded) + _planes(indices)


_ENCODERS = {
    "int": _ints,
    "int?": _optional(_ints),
    "float": _floats,
    "float?": _optional(_floats),
    "text": _texts,
}


# -- decoding -------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, body: bytes, raw: bytes) -> None:
        self.body, self.at = body, 0
        self.raw, self.raw_at = raw, 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.body):
            raise BlockError("the block ends early")
        part = self.body[self.at : self.at + size]
        self.at += size
        return part

    def count(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def planes(self, n: int, dtype: str) -> np.ndarray:
        size = np.dtype(dtype).itemsize
        raw = np.frombuffer(self.take(n * size), dtype=np.uint8)
        return np.ascontiguousarray(raw.reshape(size, n).T).view(dtype).ravel()

    def ints(self, n: int) -> np.ndarray:
        return np.cumsum(self.planes(n, "<i8"), dtype=np.int64)

    def floats(self, n: int) -> np.ndarray:
        return self.planes(n, "<f8").astype(np.float64)

    def mask(self, n: int) -> np.ndarray:
        return np.frombuffer(self.take(n), dtype=np.uint8).astype(bool)

    def texts(self, n: int) -> tuple[str, ...]:
        k = self.count()
        lengths = np.frombuffer(self.take(4 * k), dtype=_U32).tolist()
        try:
            table = [self.take(size).decode("utf-8") for size in lengths]
        except UnicodeDecodeError as error:
            raise BlockError(f"a text in the block is not UTF-8: {error}") from error
        indices = self.planes(n, "<u4")
        if n and int(indices.max()) >= k:
            raise BlockError("a text index points past the block's texts")
        return tuple(np.array(table, dtype=object)[indices].tolist()) if n else ()

    def blobs(self, n: int) -> Blobs:
        sizes = self.ints(n)
        total = int(sizes.sum())
        if n and int(sizes.min()) < 0 or self.raw_at + total > len(self.raw):
            raise BlockError("the block's bytes do not add up")
        data = self.raw[self.raw_at : self.raw_at + total]
        self.raw_at += total
        return Blobs(data, sizes)


def decode(schema: Schema, payload: bytes) -> Columns:
    """The rows of one block, column by column."""
    if not payload or payload[0] != FORMAT:
        raise BlockError(f"not a block this kapmonitor reads (format {payload[:1].hex() or 'missing'})")
    size = int.from_bytes(payload[1:5], "little")
    if len(payload) < 5 + size:
        raise BlockError("the block ends early")
    try:
        reader = _Reader(zlib.decompress(payload[5 : 5 + size]), payload[5 + size :])
    except zlib.error as error:
        raise BlockError(f"the block's bytes are damaged: {error}") from error
    n = reader.count()
    values: dict[str, Any] = {}
    present: dict[str, np.ndarray] = {}
    for name, kind in schema:
        if kind == "int":
            values[name] = reader.ints(n)
        elif kind == "float":
            values[name] = reader.floats(n)
        elif kind in ("int?", "float?"):
            mask = present[name] = reader.mask(n)
            found = reader.ints(int(mask.sum())) if kind == "int?" else reader.floats(int(mask.sum()))
            full = np.zeros(n, dtype=np.int64) if kind == "int?" else np.full(n, np.nan)
            full[mask] = found
            values[name] = full
        elif kind == "text":
            values[name] = reader.texts(n)
        else:
            values[name] = reader.blobs(n)
    if reader.at != len(reader.body) or reader.raw_at != len(reader.raw):
        raise BlockError("the block holds more than its rows")
    return Columns(n, values, present)


def decode_many(schema: Schema, payloads: Sequence[bytes]) -> Columns:
    """The rows of consecutive blocks joined, column by column, in block order."""
    blocks = [decode(schema, p) for p in payloads]
    values: dict[str, Any] = {}
    present: dict[str, np.ndarray] = {}
    for name, kind in schema:
        parts = [b.values[name] for b in blocks]
        if kind == "bytes":
            values[name] = Blobs.joined(parts)
        elif kind == "text":
            values[name] = tuple(chain.from_iterable(parts))
        else:
            empty = np.empty(0, dtype=np.float64 if kind.startswith("float") else np.int64)
            values[name] = np.concatenate(parts) if parts else empty
        if kind.endswith("?"):
            present[name] = np.concatenate([b.present[name] for b in blocks]) if blocks else np.empty(0, dtype=bool)
    return Columns(sum(b.n for b in blocks), values, present)

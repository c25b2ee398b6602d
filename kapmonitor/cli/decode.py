"""``kapmonitor decode``: raw device bytes (or hex text) in, one JSON object per decoded item out."""

from __future__ import annotations

import json
import string
import sys
from collections.abc import Iterable, Iterator
from typing import BinaryIO, TextIO

from kapmonitor.cli.errors import CommandError
from kapmonitor.cli.jsonl import item_to_json
from kapmonitor.core.readings import DecodeError, Item
from kapmonitor.devices.base import Decoder
from kapmonitor.devices.registry import UnknownProtocol, descriptor

CHUNK = 64 * 1024
_HEX_DIGITS = frozenset(string.hexdigits)


def run(protocol: str, file: str, hex_input: bool = False) -> int:
    try:
        device = descriptor(protocol)
    except UnknownProtocol as exc:
        raise CommandError(str(exc)) from None
    decoder = device.decoder()
    source = _open(file)
    try:
        if not hex_input:
            items = _decode_binary(decoder, source)
        elif device.link == "ble":
            items = _decode_notifications(decoder, source)
        else:
            items = _decode_hex_stream(decoder, source)
        _write(items, sys.stdout)
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    return 0


def _open(file: str) -> BinaryIO:
    if file == "-":
        return sys.stdin.buffer
    try:
        return open(file, "rb")  # noqa: SIM115 - closed by run()
    except OSError as exc:
        raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None


def _finish(decoder: Decoder) -> list[Item]:
    """Decoders that hold back bytes at the end of the input (a partial frame, samples) report them here."""
    finish = getattr(decoder, "finish", None)
    return list(finish()) if callable(finish) else []


def _decode_binary(decoder: Decoder, source: BinaryIO) -> Iterator[Item]:
    while chunk := source.read(CHUNK):
        yield from decoder.feed(chunk)
    yield from _finish(decoder)


def _hex_digits(line: bytes) -> str | None:
    """The hex digits of one line, whitespace ignored; None if anything else is on it."""
    text = "".join(line.decode("latin-1").split())
    return text if _HEX_DIGITS.issuperset(text) else None


def _decode_notifications(decoder: Decoder, source: BinaryIO) -> Iterator[Item]:
    """Bluetooth: each non-empty line is one characteristic value, fed as one notification."""
    for number, line in enumerate(source, start=1):
        digits = _hex_digits(line)
        if digits == "":
            continue
        if digits is None or len(digits) % 2:
            yield DecodeError("hex", number)
            continue
        yield from decoder.feed(bytes.fromhex(digits))
    yield from _finish(decoder)


def _decode_hex_stream(decoder: Decoder, source: BinaryIO) -> Iterator[Item]:
    """Serial: one byte stream; digits join across lines, so a byte may be split over a line break."""
    carry = ""
    number = 0
    for number, line in enumerate(source, start=1):
        digits = _hex_digits(line)
        if digits is None:
            yield DecodeError("hex", number)
            continue
        digits = carry + digits
        whole = len(digits) - len(digits) % 2
        carry = digits[whole:]
        if whole:
            yield from decoder.feed(bytes.fromhex(digits[:whole]))
    if carry:
        yield DecodeError("hex", number, "odd number of hex digits")
    yield from _finish(decoder)


def _write(items: Iterable[Item], out: TextIO) -> None:
    try:
        for item in items:
            out.write(json.dumps(item_to_json(item)) + "\n")
        out.flush()
    except BrokenPipeError:  # `decode ... | head`: the reader has what it wanted
        pass

"""The ``hl7-pcd01`` decoder: a byte stream (MLLP-framed, or blank-line separated text) in, items out.

The listener uses :meth:`Hl7Decoder.feed_messages` to answer each message; ``decode`` and the generic decode
path use :meth:`Hl7Decoder.feed`. Framing problems and unreadable messages are ``error`` items, never exceptions.
"""

from __future__ import annotations

from kapmonitor.core.readings import DecodeError, Item
from kapmonitor.devices.base import Decoder
from kapmonitor.devices.hl7.framing import MAX_MESSAGE, Framed, FramingProblem, MessageFramer
from kapmonitor.devices.hl7.message import MessageReader, ParsedMessage


class Hl7Decoder(Decoder):
    protocol = "hl7-pcd01"
    max_buffer = MAX_MESSAGE

    def __init__(self, max_message: int = MAX_MESSAGE, mode: str | None = None) -> None:
        super().__init__()
        self.framer = MessageFramer(max_message, mode)
        self.reader = MessageReader()

    def feed_messages(self, data: bytes) -> list[ParsedMessage | FramingProblem]:
        self.stats.bytes_in += len(data)
        try:
            return self._read(self.framer.feed(data))
        except Exception as exc:  # noqa: BLE001 - a framing bug must not take the monitor's stream down
            self.framer = MessageFramer(self.framer.max_message, self.framer.mode)
            self.stats.resyncs += 1
            return [FramingProblem("internal", self.stats.bytes_in, f"framing reset after {type(exc).__name__}")]

    def finish_messages(self) -> list[ParsedMessage | FramingProblem]:
        return self._read(self.framer.finish())

    def feed(self, data: bytes) -> list[Item]:
        return _items(self.feed_messages(data))

    def finish(self) -> list[Item]:
        return _items(self.finish_messages())

    def _read(self, found: list[Framed | FramingProblem]) -> list[ParsedMessage | FramingProblem]:
        out: list[ParsedMessage | FramingProblem] = []
        for f in found:
            if isinstance(f, FramingProblem):
                if f.reason == "garbage":
                    self.stats.resyncs += 1
                else:
                    self.stats.checksum_errors += 1  # the closest counter: a message lost to its framing
                out.append(f)
                continue
            parsed = self.reader.parse(f.message, f.offset)
            if parsed.ack_code == "AR":
                self.stats.checksum_errors += 1
            else:
                self.stats.frames_ok += 1
            out.append(parsed)
        self.stats.bytes_discarded = self.framer.bytes_discarded
        return out


def _items(found: list[ParsedMessage | FramingProblem]) -> list[Item]:
    items: list[Item] = []
    for f in found:
        if isinstance(f, FramingProblem):
            items.append(DecodeError(f.reason, f.offset, f.detail))
        else:
            items.extend(f.items)
    return items

"""Sending HL7 messages to an MLLP listener and waiting for each answer (original-mode acknowledgement), through
python-hl7's MLLP streams. Used by ``simulate --protocol hl7-pcd01 --to`` and by the outbound interface.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from hl7.mllp import InvalidBlockError, open_hl7_connection

from kapmonitor.devices.hl7.ack import ack_code_of
from kapmonitor.devices.links.mllp import parse_endpoint

ACK_TIMEOUT_S = 10.0
MAX_ACK = 1_000_000


@dataclass(frozen=True)
class Answer:
    code: str  # MSA-1: AA, AE, AR (CA/CE/CR from an enhanced-mode receiver); "" when none came
    reason: str

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


class MllpConnection:
    """One connection to a listener; :meth:`send` writes one message and returns its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, endpoint: str, timeout_s: float = ACK_TIMEOUT_S) -> MllpConnection:
        host, port = parse_endpoint(endpoint)
        reader, writer = await asyncio.wait_for(open_hl7_connection(host, port, limit=MAX_ACK), timeout_s)
        return cls(reader, writer)

    async def send(self, message: bytes, timeout_s: float = ACK_TIMEOUT_S) -> Answer:
        self.writer.writeblock(message)  # type: ignore[attr-defined]  # python-hl7's MLLP writer
        await self.writer.drain()
        try:
            block = await asyncio.wait_for(self.reader.readblock(), timeout_s)  # type: ignore[attr-defined]
        except TimeoutError:
            return Answer("", f"no answer within {timeout_s:g} s")
        except (InvalidBlockError, ValueError) as exc:
            return Answer("", f"the answer was not an MLLP frame: {exc}")
        except asyncio.IncompleteReadError:
            raise ConnectionError("the listener closed the connection before answering") from None
        code, reason = ack_code_of(block)
        return Answer(code, reason)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


async def send_all(endpoint: str, messages: list[bytes], timeout_s: float = ACK_TIMEOUT_S) -> list[Answer]:
    """Send each message on one connection, in order, waiting for each answer."""
    connection = await MllpConnection.open(endpoint, timeout_s)
    try:
        return [await connection.send(m, timeout_s) for m in messages]
    finally:
        await connection.close()

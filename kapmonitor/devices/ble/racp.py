"""Record Access Control Point 0x2A52, as the Pulse Oximeter Service uses it to replay stored spot-checks.

The client writes ``OpCode | Operator | Operand...``; the server indicates the stored records on 0x2A5E
(status bit 9 set) and then answers on 0x2A52 with a Response Code (06) or, for "report number", a Number
Response (05).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind
from kapmonitor.devices.ble.notification import NotificationDecoder, need

RECORD_ACCESS_CONTROL_POINT = 0x2A52


class RacpOpCode(IntEnum):
    REPORT_STORED_RECORDS = 0x01
    DELETE_STORED_RECORDS = 0x02
    ABORT_OPERATION = 0x03
    REPORT_NUMBER_OF_RECORDS = 0x04
    NUMBER_OF_RECORDS_RESPONSE = 0x05
    RESPONSE_CODE = 0x06


class RacpOperator(IntEnum):
    NULL = 0x00
    ALL_RECORDS = 0x01
    LESS_OR_EQUAL = 0x02
    GREATER_OR_EQUAL = 0x03
    WITHIN_RANGE = 0x04
    FIRST_RECORD = 0x05
    LAST_RECORD = 0x06


class RacpResponseCode(IntEnum):
    SUCCESS = 0x01
    OP_CODE_NOT_SUPPORTED = 0x02
    INVALID_OPERATOR = 0x03
    OPERATOR_NOT_SUPPORTED = 0x04
    INVALID_OPERAND = 0x05
    NO_RECORDS_FOUND = 0x06
    ABORT_UNSUCCESSFUL = 0x07
    PROCEDURE_NOT_COMPLETED = 0x08
    OPERAND_NOT_SUPPORTED = 0x09


@dataclass(frozen=True)
class RacpRequest:
    op_code: int
    operator: int = RacpOperator.NULL
    operand: bytes = b""

    def encode(self) -> bytes:
        return bytes([self.op_code, self.operator]) + self.operand


REPORT_ALL_STORED_RECORDS = RacpRequest(RacpOpCode.REPORT_STORED_RECORDS, RacpOperator.ALL_RECORDS)
REPORT_NUMBER_OF_ALL_RECORDS = RacpRequest(RacpOpCode.REPORT_NUMBER_OF_RECORDS, RacpOperator.ALL_RECORDS)
DELETE_ALL_STORED_RECORDS = RacpRequest(RacpOpCode.DELETE_STORED_RECORDS, RacpOperator.ALL_RECORDS)
ABORT_OPERATION = RacpRequest(RacpOpCode.ABORT_OPERATION, RacpOperator.NULL)


@dataclass(frozen=True)
class RacpResponse:
    """A server answer: a response code to ``request_op_code``, or the number of stored records."""

    request_op_code: int | None = None
    response_code: int | None = None
    number_of_records: int | None = None

    @property
    def success(self) -> bool:
        return self.response_code == RacpResponseCode.SUCCESS or self.number_of_records is not None

    def describe(self) -> str:
        if self.number_of_records is not None:
            return f"{self.number_of_records} stored record(s)"
        request, response = self.request_op_code, self.response_code
        if request is None or response is None:
            return "an empty response"
        try:
            op = RacpOpCode(request).name.lower().replace("_", " ")
        except ValueError:
            op = f"op code 0x{request:02X}"
        try:
            code = RacpResponseCode(response).name.lower().replace("_", " ")
        except ValueError:
            code = f"response code 0x{response:02X}"
        return f"{op}: {code}"

    def encode(self) -> bytes:
        if self.number_of_records is not None:
            return bytes([RacpOpCode.NUMBER_OF_RECORDS_RESPONSE, 0]) + struct.pack(
                "<H", self.number_of_records
            )
        return bytes([RacpOpCode.RESPONSE_CODE, 0, self.request_op_code or 0, self.response_code or 0])


class MalformedRacp(ValueError):
    pass


def parse_racp_response(data: bytes) -> RacpResponse:
    """Raises :class:`ShortPayload` when too short and :class:`MalformedRacp` when not a response at all."""
    need(data, 2, "op code and operator")
    op, operator = data[0], data[1]
    if op not in (RacpOpCode.RESPONSE_CODE, RacpOpCode.NUMBER_OF_RECORDS_RESPONSE):
        raise MalformedRacp(f"op code 0x{op:02X} is not a response")
    if operator != RacpOperator.NULL:
        raise MalformedRacp(f"a response's operator must be 00, got {operator:02X}")
    if op == RacpOpCode.RESPONSE_CODE:
        need(data, 4, "a response code")
        return RacpResponse(data[2], data[3])
    operand = data[2:]
    if len(operand) not in (1, 2, 4):  # PLXS sends u16; other services send u8 or u32
        need(data, 4, "a record count")
        raise MalformedRacp(f"a record count of {len(operand)} bytes")
    return RacpResponse(number_of_records=int.from_bytes(operand, "little"))


def parse_racp_request(data: bytes) -> RacpRequest:
    need(data, 2, "op code and operator")
    return RacpRequest(data[0], data[1], bytes(data[2:]))


class RacpDecoder(NotificationDecoder):
    """One 0x2A52 indication -> a ``LinkEvent(LinkEventKind.RACP, ...)`` whose ``extra["response"]`` is the
    RacpResponse."""

    protocol = "ble-racp"
    characteristic = RECORD_ACCESS_CONTROL_POINT
    max_remembered = 0  # rare replies, each its own event: not worth remembering

    def decode(self, payload: bytes) -> list[Item]:
        try:
            response = parse_racp_response(payload)
        except MalformedRacp as exc:
            return [DecodeError("malformed", 0, f"RACP {payload.hex(' ')}: {exc}")]
        return [LinkEvent(LinkEventKind.RACP, response.describe(), extra={"response": response})]

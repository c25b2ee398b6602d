"""The answer to each message (HL7 v2.6 chapter 2, original mode): ``MSA|AA`` when it was taken, ``AE`` when it
was taken in part, ``AR`` when it was refused, with an ``ERR`` segment naming the reason.

Built with python-hl7's ``Message.create_ack`` from the message's own MSH, so the sender and receiver swap places
and MSH-10 is echoed in MSA-2 as the sender expects.
"""

from __future__ import annotations

import itertools
import time

import hl7

from kapmonitor.devices.hl7.message import ParsedMessage

RECEIVER = "KAPMONITOR"
_ids = itertools.count(1)


def _control_id() -> str:
    return f"KAP{time.strftime('%Y%m%d%H%M%S')}{next(_ids):06d}"


def _clean(text: str) -> str:
    """Free text inside a field: no separators or line breaks from a reason that quotes the input."""
    return "".join(" " if c in "|^~\\&\r\n" else c for c in text)[:200]


def build_ack(parsed: ParsedMessage, application: str = RECEIVER, facility: str = "") -> bytes:
    """The ACK for ``parsed``, as bytes without MLLP framing (segments end in CR)."""
    msh = parsed.msh
    if msh:
        try:
            ack = hl7.parse(msh).create_ack(
                parsed.ack_code, message_id=_control_id(), application=application, facility=facility
            )
            text = str(ack).rstrip("\r")
        except Exception:  # noqa: BLE001 - an MSH we could split but the library cannot: answer from scratch
            text = ""
    else:
        text = ""
    if not text:
        now = time.strftime("%Y%m%d%H%M%S")
        text = (
            f"MSH|^~\\&|{application}|{facility}|||{now}||ACK^R01^ACK|{_control_id()}|P|2.6\r"
            f"MSA|{parsed.ack_code}|{_clean(parsed.control_id)}"
        )
    if parsed.ack_code != "AA":
        reason = _clean(parsed.reason)
        text += f"|{reason}"  # MSA-3, the text message: MSA is the last segment so far
        severity = "E" if parsed.ack_code == "AR" else "W"
        text += f"\rERR||||{severity}|{parsed.error_code or '207'}^{reason}^HL70357||||{reason}"
    return (text + "\r").encode("utf-8")


def ack_code_of(ack: bytes | str) -> tuple[str, str]:
    """(MSA-1, the reason) of an ACK we received: what a sender logs and retries on."""
    text = ack.decode("utf-8", "replace") if isinstance(ack, bytes) else ack
    code, reason = "", ""
    for segment in text.replace("\n", "\r").split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA":
            code = fields[1].strip() if len(fields) > 1 else ""
            reason = fields[3].strip() if len(fields) > 3 else reason
        elif fields[0] == "ERR" and len(fields) > 8 and fields[8].strip():
            reason = fields[8].strip()
    return code, reason

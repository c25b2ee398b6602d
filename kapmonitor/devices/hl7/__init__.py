"""HL7 v2 ORU^R01 (IHE PCD-01) over MLLP: framing, message reading, codes, answers, writing, a simulated monitor.

Where to start reading: ``decoder.Hl7Decoder`` (bytes in, items out), ``message.MessageReader`` (one message),
``codes`` (MDC, units, vendor tables), ``ack.build_ack``; the listener is ``devices/links/mllp.py``.
"""

"""Nonin pulse oximeters on a serial line (OEM III module, Xpod 3012, Onyx 9560 and WristOx2 3150 over SPP).

The device descriptors for data formats #2, #7, #8 and #13, as the registry finds them. The decoders, encoders
and simulators live beside this module (``df2`` .. ``df13``, ``simulator``); they are re-exported here.
"""

from __future__ import annotations

from kapmonitor.devices.base import DeviceDescriptor, SerialSettings, TrackSpec
from kapmonitor.devices.nonin.df2 import NoninDf2Decoder, encode_df2_frame, encode_df2_packet
from kapmonitor.devices.nonin.df7 import NoninDf7Decoder, encode_df7_frame, encode_df7_packet
from kapmonitor.devices.nonin.df8 import NoninDf8Decoder, encode_df8_frame
from kapmonitor.devices.nonin.df13 import NoninDf13Decoder, encode_df13_record
from kapmonitor.devices.nonin.packet import FRAME_RATE_HZ
from kapmonitor.devices.nonin.simulator import (
    NoninDf2Simulator,
    NoninDf7Simulator,
    NoninDf8Simulator,
    NoninDf13Simulator,
    select_format_command,
)

__all__ = [
    "DF2", "DF7", "DF8", "DF13",
    "NoninDf2Decoder", "NoninDf7Decoder", "NoninDf8Decoder", "NoninDf13Decoder",
    "NoninDf2Simulator", "NoninDf7Simulator", "NoninDf8Simulator", "NoninDf13Simulator",
    "encode_df2_frame", "encode_df2_packet", "encode_df7_frame", "encode_df7_packet", "encode_df8_frame",
    "encode_df13_record", "select_format_command",
]  # fmt: skip

# 9600 baud 8N1, no flow control: the same on the OEM III, the Xpod and the 9560's serial port profile.
NONIN_SERIAL = SerialSettings(baudrate=9600, bytesize=8, parity="N", stopbits=1)

_NUMERICS = (TrackSpec("spo2", 1.0), TrackSpec("pulse_rate", 1.0))
_WITH_PLETH = (TrackSpec("pleth", FRAME_RATE_HZ), *_NUMERICS)

_FORMAT_NOTE = (
    "On connecting, kapmonitor sends the select-format command; the device accepts it only in its first 5 s "
    "and answers ACK (06), which the decoder skips as one stray byte. The device keeps the format in memory."
)

DF2 = DeviceDescriptor(
    protocol="nonin-df2",
    title="Nonin oximeter, data format 2 (8-bit pleth)",
    link="serial",
    decoder=NoninDf2Decoder,
    tracks=_WITH_PLETH,
    serial=NONIN_SERIAL,
    start_command=select_format_command(0x02),
    simulator=NoninDf2Simulator,
    notes=_FORMAT_NOTE,
)

DF7 = DeviceDescriptor(
    protocol="nonin-df7",
    title="Nonin oximeter, data format 7 (16-bit pleth)",
    link="serial",
    decoder=NoninDf7Decoder,
    tracks=_WITH_PLETH,
    serial=NONIN_SERIAL,
    start_command=select_format_command(0x07),
    simulator=NoninDf7Simulator,
    notes=_FORMAT_NOTE,
)

DF8 = DeviceDescriptor(
    protocol="nonin-df8",
    title="Nonin oximeter, data format 8 (numerics once a second)",
    link="serial",
    decoder=NoninDf8Decoder,
    tracks=_NUMERICS,
    serial=NONIN_SERIAL,
    start_command=select_format_command(0x08),
    simulator=NoninDf8Simulator,
    notes=_FORMAT_NOTE + " Format 8 has no checksum: frames are found by their bit-7 pattern only.",
)

DF13 = DeviceDescriptor(
    protocol="nonin-df13",
    title="Nonin oximeter, data format 13 (SmartPoint spot checks)",
    link="serial",
    decoder=NoninDf13Decoder,
    # Spot checks come when a nurse takes one; nominal rate = the simulator's default interval, never zero.
    tracks=(TrackSpec("spo2", 1 / 30), TrackSpec("pulse_rate", 1 / 30)),
    serial=NONIN_SERIAL,
    start_command=select_format_command(0x0D),
    simulator=NoninDf13Simulator,
    notes=_FORMAT_NOTE
    + " Spot checks arrive when the device completes one; each carries the device's clock.",
)

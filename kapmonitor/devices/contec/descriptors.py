"""The Contec families as registered protocols: ``contec-v7`` and ``contec-legacy``."""

from __future__ import annotations

from kapmonitor.devices.base import DeviceDescriptor, Keepalive, SerialSettings, TrackSpec
from kapmonitor.devices.contec.legacy import ContecLegacyDecoder
from kapmonitor.devices.contec.simulators import ContecLegacySimulator, ContecV7Simulator
from kapmonitor.devices.contec.stream import PLETH_RATE_HZ
from kapmonitor.devices.contec.v7 import INFORM_CONNECTED, START_REALTIME, ContecV7Decoder

_OXIMETER_TRACKS = (TrackSpec("pleth", PLETH_RATE_HZ), TrackSpec("spo2", 1.0), TrackSpec("pulse_rate", 1.0))

CONTEC_V7 = DeviceDescriptor(
    protocol="contec-v7",
    title="Contec CMS50D+/EW/F (protocol V7.0)",
    link="serial",
    decoder=ContecV7Decoder,
    tracks=(*_OXIMETER_TRACKS, TrackSpec("perfusion_index", 1.0)),
    serial=SerialSettings(baudrate=115200),
    start_command=START_REALTIME,
    keepalive=Keepalive(INFORM_CONNECTED, 5.0),
    simulator=ContecV7Simulator,
    notes="Firmware 4.6 and later. Streams only after the start command and while the host keeps it alive.",
)

CONTEC_LEGACY = DeviceDescriptor(
    protocol="contec-legacy",
    title="Contec CMS50D+/E (legacy stream protocol)",
    link="serial",
    decoder=ContecLegacyDecoder,
    tracks=_OXIMETER_TRACKS,
    serial=SerialSettings(baudrate=19200, parity="O", xonxoff=True),
    simulator=ContecLegacySimulator,
    notes="Older firmware. If nothing decodes, try 19200 8N1, then 4800 8N1.",
)

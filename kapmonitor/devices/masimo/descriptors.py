"""The Masimo ASCII 1 output as a registered protocol: ``masimo-ascii``."""

from __future__ import annotations

from kapmonitor.devices.base import DeviceDescriptor, SerialSettings, TrackSpec
from kapmonitor.devices.masimo.decoder import PROTOCOL, MasimoAsciiDecoder
from kapmonitor.devices.masimo.simulator import MasimoSimulator

MASIMO_ASCII = DeviceDescriptor(
    protocol=PROTOCOL,
    title="Masimo Rad-8 / Radical-7 (ASCII 1)",
    link="serial",
    decoder=MasimoAsciiDecoder,
    tracks=(TrackSpec("spo2", 1.0), TrackSpec("pulse_rate", 1.0), TrackSpec("perfusion_index", 1.0)),
    serial=SerialSettings(baudrate=9600),
    simulator=MasimoSimulator,
    notes="Choose ASCII 1 in setup level 3 (the Rad-8 default, ASCII 2, is the printer format). "
    "Null-modem cable.",
)

"""The SunTech Advantage as a registered protocol: ``suntech-advantage``."""

from __future__ import annotations

from kapmonitor.devices.base import DeviceDescriptor, SerialSettings, TrackSpec
from kapmonitor.devices.suntech.decoder import SuntechDecoder
from kapmonitor.devices.suntech.driver import SuntechDriver
from kapmonitor.devices.suntech.frames import GET_CUFF_PRESSURE, PROTOCOL
from kapmonitor.devices.suntech.simulator import SuntechSimulator

SUNTECH_ADVANTAGE = DeviceDescriptor(
    protocol=PROTOCOL,
    title="SunTech Advantage OEM NIBP module",
    link="serial",
    decoder=SuntechDecoder,
    tracks=(
        TrackSpec("cuff_pressure", 1.0),
        TrackSpec("nibp_systolic", 1 / 300),
        TrackSpec("nibp_diastolic", 1 / 300),
        TrackSpec("nibp_mean", 1 / 300),
        TrackSpec("pulse_rate", 1 / 300),
    ),
    serial=SerialSettings(baudrate=9600),
    simulator=SuntechSimulator,
    notes="Measures only when asked: the transport runs a SuntechDriver (host_driver) "
    "to schedule measurements and poll the cuff.",
    host_driver=SuntechDriver,
    probe_query=GET_CUFF_PRESSURE,  # a pressure reading: answered at once, starts nothing
    model="SunTech Advantage",
)

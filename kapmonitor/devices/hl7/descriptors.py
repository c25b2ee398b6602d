"""``hl7-pcd01``: networked monitors sending HL7 v2 ORU^R01 (IHE PCD-01) over MLLP."""

from __future__ import annotations

from kapmonitor.devices.base import DeviceDescriptor, TrackSpec
from kapmonitor.devices.hl7.decoder import Hl7Decoder
from kapmonitor.devices.hl7.simulator import Hl7MonitorSimulator

DEFAULT_PORT = 2575  # the port IANA assigns to HL7 over MLLP (what most monitors and engines default to)

HL7_PCD01 = DeviceDescriptor(
    protocol="hl7-pcd01",
    title="Network monitor (HL7 v2 ORU^R01, IHE PCD-01, over MLLP)",
    link="network",
    decoder=Hl7Decoder,
    tracks=(
        TrackSpec("spo2", 1.0),
        TrackSpec("pulse_rate", 1.0),
        TrackSpec("heart_rate", 1.0),
        TrackSpec("resp_rate", 1.0),
        TrackSpec("temperature", 1.0 / 60),
        TrackSpec("etco2", 1.0),
        TrackSpec("nibp_systolic", 1.0 / 300),
        TrackSpec("nibp_diastolic", 1.0 / 300),
        TrackSpec("nibp_mean", 1.0 / 300),
        TrackSpec("pleth", 75.0),
    ),
    simulator=Hl7MonitorSimulator,
    notes="kapmonitor listens (hl7-pcd01@tcp://0.0.0.0:2575); point the monitor's or gateway's HL7 output at this "
    "computer's address and port. Each message is answered with an ACK.",
)

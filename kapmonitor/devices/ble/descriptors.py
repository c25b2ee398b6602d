"""The Bluetooth health profiles as device descriptors, and the table the adapter subscribes from.

Each descriptor's ``gatt`` (a :class:`~kapmonitor.devices.base.GattProfile`) says which service and
characteristic its measurements arrive on, whether it indicates or notifies, and whether it streams.
"""

from __future__ import annotations

from kapmonitor.devices.base import DeviceDescriptor, GattProfile, TrackSpec
from kapmonitor.devices.ble.bpm import (
    BLOOD_PRESSURE_MEASUREMENT,
    BLOOD_PRESSURE_SERVICE,
    INTERMEDIATE_CUFF_PRESSURE,
    BloodPressureDecoder,
    IntermediateCuffPressureDecoder,
)
from kapmonitor.devices.ble.hrm import HEART_RATE_MEASUREMENT, HEART_RATE_SERVICE, HeartRateDecoder
from kapmonitor.devices.ble.plx import (
    PLX_CONTINUOUS_MEASUREMENT,
    PLX_SPOT_CHECK_MEASUREMENT,
    PULSE_OXIMETER_SERVICE,
    PlxContinuousDecoder,
    PlxSpotCheckDecoder,
)
from kapmonitor.devices.ble.simulators import (
    BloodPressureSimulator,
    HeartRateSimulator,
    IntermediateCuffPressureSimulator,
    PlxContinuousSimulator,
    PlxSpotCheckSimulator,
)

BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def bluetooth_uuid(short: int) -> str:
    """The full 128-bit form of a 16-bit SIG UUID (what ``bleak.uuids.normalize_uuid_16`` returns)."""
    return f"0000{short:04x}{BASE_UUID_SUFFIX}"


def _gatt(service: int, characteristic: int, *, indicate: bool, streaming: bool) -> GattProfile:
    return GattProfile(bluetooth_uuid(service), bluetooth_uuid(characteristic), indicate, streaming)


HRM = DeviceDescriptor(
    protocol="ble-hrm",
    title="Bluetooth heart-rate strap (Heart Rate Measurement 0x2A37)",
    link="ble",
    decoder=HeartRateDecoder,
    tracks=(TrackSpec("heart_rate", 1.0), TrackSpec("rr_interval", 1.0)),
    simulator=HeartRateSimulator,
    gatt=_gatt(HEART_RATE_SERVICE, HEART_RATE_MEASUREMENT, indicate=False, streaming=True),
)
BPM = DeviceDescriptor(
    protocol="ble-bpm",
    title="Bluetooth blood-pressure cuff (Blood Pressure Measurement 0x2A35)",
    link="ble",
    decoder=BloodPressureDecoder,
    tracks=tuple(
        TrackSpec(m, 1 / 300) for m in ("nibp_systolic", "nibp_diastolic", "nibp_mean", "pulse_rate")
    ),
    simulator=BloodPressureSimulator,
    notes="Cuffs indicate their stored readings right after subscription, then disconnect: that is normal.",
    gatt=_gatt(BLOOD_PRESSURE_SERVICE, BLOOD_PRESSURE_MEASUREMENT, indicate=True, streaming=False),
)
ICP = DeviceDescriptor(
    protocol="ble-icp",
    title="Bluetooth cuff, live cuff pressure (Intermediate Cuff Pressure 0x2A36)",
    link="ble",
    decoder=IntermediateCuffPressureDecoder,
    tracks=(TrackSpec("cuff_pressure", 2.0),),
    simulator=IntermediateCuffPressureSimulator,
    gatt=_gatt(BLOOD_PRESSURE_SERVICE, INTERMEDIATE_CUFF_PRESSURE, indicate=False, streaming=False),
)
PLX_SPOT = DeviceDescriptor(
    protocol="ble-plx-spot",
    title="Bluetooth pulse oximeter, spot checks (PLX Spot-check Measurement 0x2A5E)",
    link="ble",
    decoder=PlxSpotCheckDecoder,
    tracks=(TrackSpec("spo2", 1 / 60), TrackSpec("pulse_rate", 1 / 60), TrackSpec("perfusion_index", 1 / 60)),
    simulator=PlxSpotCheckSimulator,
    notes="Stored spot-checks are downloaded through the Record Access Control Point 0x2A52 on request.",
    gatt=_gatt(PULSE_OXIMETER_SERVICE, PLX_SPOT_CHECK_MEASUREMENT, indicate=True, streaming=False),
)
PLX_CONT = DeviceDescriptor(
    protocol="ble-plx-cont",
    title="Bluetooth pulse oximeter, continuous (PLX Continuous Measurement 0x2A5F)",
    link="ble",
    decoder=PlxContinuousDecoder,
    tracks=(TrackSpec("spo2", 1.0), TrackSpec("pulse_rate", 1.0), TrackSpec("perfusion_index", 1.0)),
    simulator=PlxContinuousSimulator,
    gatt=_gatt(PULSE_OXIMETER_SERVICE, PLX_CONTINUOUS_MEASUREMENT, indicate=False, streaming=True),
)

PROFILES: dict[str, DeviceDescriptor] = {d.protocol: d for d in (HRM, BPM, ICP, PLX_SPOT, PLX_CONT)}
# Each profile's GATT characteristic, by profile name (every profile above has one).
GATT: dict[str, GattProfile] = {name: d.gatt for name, d in PROFILES.items() if d.gatt is not None}

# Names that stand for several characteristics of one device ("ble-plx@AA:BB:..." subscribes to both PLX
# ones).
PROFILE_FAMILIES: dict[str, tuple[str, ...]] = {
    "ble": tuple(PROFILES),
    "ble-plx": ("ble-plx-spot", "ble-plx-cont"),
    "ble-cuff": ("ble-bpm", "ble-icp"),
}


def expand_profiles(names: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """Profile names with families expanded; ``None`` means every supported profile."""
    if names is None:
        return tuple(PROFILES)
    out: list[str] = []
    for name in names:
        members = PROFILE_FAMILIES.get(name, (name,))
        for member in members:
            if member not in PROFILES:
                raise KeyError(
                    f"unknown Bluetooth profile {name!r}; known: {', '.join([*PROFILES, *PROFILE_FAMILIES])}"
                )
            if member not in out:
                out.append(member)
    return tuple(out)

"""The bed's configured devices: each entry of ``devices.json`` made into a link on this station.

The file format lives in :mod:`kapmonitor.devices.config`; making a link needs the station (a simulated device
watches the station's simulated patient; a network monitor asks whose session the chair is recording), so it
is wired here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kapmonitor.devices.config import DeviceConfig, StationConfig, capture_path, load

if TYPE_CHECKING:
    from kapmonitor.bed.station import Station
    from kapmonitor.devices.links.transport import Transport


def transport_for(device: DeviceConfig, station: Station | None = None) -> Transport:
    """The link a configured device needs. A simulated one is added to ``station`` (it owns the simulator)."""
    if device.link == "simulated":
        if station is None:
            raise ValueError("a simulated device needs the station that owns its simulator")
        return station.add_simulated(device.protocol)
    if device.link == "network":
        return _listener(device, station)
    if device.link == "ble":
        from kapmonitor.devices.ble.adapter import BleTransport

        return BleTransport(device.address, profiles=list(device.profiles or (device.protocol,)))
    from kapmonitor.devices.links.serial import SerialTransport

    return SerialTransport(
        device.protocol,
        device.address,
        settings=device.settings,
        serial_number=device.serial_number,
        capture=capture_path(device.address) if device.capture else None,
    )


def _listener(device: DeviceConfig, station: Station | None) -> Transport:
    from kapmonitor.devices.links.mllp import Binding, MllpListener

    binding = Binding(device.bind_by, device.bind_value)  # type: ignore[arg-type]  # checked by parse
    recorder = station.recorder if station is not None else None
    return MllpListener(
        device.address,
        binding=binding,
        chair_patient=_ChairPatient(station) if station is not None else None,
        register=recorder.register_device if recorder is not None else None,
    )


class _ChairPatient:
    """The pseudonymous code of the patient whose session this station is recording (None between sessions)."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self._cached: tuple[int, str] | None = None

    def __call__(self) -> str | None:
        session_id = self.station.session_id
        if session_id is None:
            return None
        if self._cached is None or self._cached[0] != session_id:
            patient = str(self.station.repository.session_detail(session_id).get("patient") or "")
            self._cached = (session_id, patient)
        return self._cached[1] or None


def add_configured_devices(station: Station, config: StationConfig | None = None) -> list[str]:
    """Add every configured device to the station; returns what could not be added, in plain words."""
    problems = []
    config = config or load()
    for device in config.devices:
        try:
            transport = transport_for(device, station)
        except Exception as exc:  # noqa: BLE001 - one bad entry must not keep the others from the bed
            problems.append(f"{device.protocol} at {device.address or 'simulator'}: {exc}")
            continue
        if device.link != "simulated":
            station.add_transport(transport)
    outbound = config.hl7_outbound if config is not None else None
    if outbound is not None:
        from kapmonitor.bed.hl7_outbound import OutboundSender

        station.add_service(OutboundSender(station.database, outbound.to, since_us=outbound.since_us))
    return problems

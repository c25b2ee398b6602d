"""``kapmonitor record``: record devices (real or simulated) into a new session without a window."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from kapmonitor.bed.station import Station
from kapmonitor.cli.errors import CommandError
from kapmonitor.core.beds import bed_or_configured
from kapmonitor.devices.registry import descriptor, protocol_names

STATUS_EVERY_S = 10.0


def parse_device(spec: str) -> tuple[str, str]:
    """``PROTOCOL@ADDRESS`` -> (protocol, address), or a CommandError that says what is wrong."""
    protocol, at, address = spec.partition("@")
    if not at or not protocol or not address:
        raise CommandError(f"--device {spec!r}: expected PROTOCOL@ADDRESS, e.g. nonin-df7@/dev/ttyUSB0")
    _known(protocol, "--device")
    return protocol, address


def _known(protocol: str, option: str) -> None:
    if protocol not in protocol_names():
        raise CommandError(f"{option}: unknown protocol {protocol!r}; known: {', '.join(protocol_names())}")


def _add_device(station: Station, protocol: str, address: str) -> None:
    if descriptor(protocol).link == "network":  # a listener: every monitor that connects records to this bed
        from kapmonitor.bed.devices import transport_for
        from kapmonitor.devices.config import DeviceConfig

        station.add_transport(transport_for(DeviceConfig(protocol, "network", address), station))
        return
    if descriptor(protocol).link != "serial":
        raise CommandError(
            f"--device {protocol}@{address}: Bluetooth devices cannot be recorded from the command "
            "line in this build"
        )
    from kapmonitor.devices.links.serial import SerialTransport

    station.add_transport(SerialTransport(protocol, address))


def run(args: argparse.Namespace) -> int:
    devices = [parse_device(spec) for spec in args.device]
    for protocol in args.simulate:
        _known(protocol, "--simulate")
    if not devices and not args.simulate:
        raise CommandError("nothing to record: give --device PROTOCOL@ADDRESS or --simulate PROTOCOL")
    if args.duration is not None and args.duration <= 0:
        raise CommandError("--duration must be a positive number of seconds")

    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    station = Station(args.db, bed=bed_or_configured(args.bed))
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for protocol, address in devices:
            _add_device(station, protocol, address)
        for protocol in args.simulate:
            station.add_simulated(protocol)
        station.start()
        session_id = station.start_session(args.patient)
        print(session_id, flush=True)
        _wait(station, stop, args.duration)
    finally:
        station.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _wait(station: Station, stop: threading.Event, duration: float | None) -> None:
    """Until the duration passes or a signal arrives; say on stderr when the database refuses writes."""
    remaining = duration
    reported: str | None = None
    while remaining is None or remaining > 0:
        step = STATUS_EVERY_S if remaining is None else min(STATUS_EVERY_S, remaining)
        if stop.wait(step):
            return
        if remaining is not None:
            remaining -= step
        failure = station.recording_failure
        if failure != reported:
            print(f"kapmonitor: {failure or 'database writes work again'}", file=sys.stderr, flush=True)
            reported = failure

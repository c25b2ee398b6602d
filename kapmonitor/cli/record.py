"""``kapmonitor record``: record devices (real or simulated) into a new session without a window.

A serial device that is not there (no such port, no permission) is refused before anything is recorded, unless
``--wait-for-device`` says to record while it reconnects. A database that cannot take the session (a full disk,
a read-only file) is one line and nothing recorded. A session a crashed kapmonitor left in progress is offered
on stderr as the application offers it: ``--resume ID`` continues recording into it (the gap recorded),
``kapmonitor sessions recover ID`` closes it at its last data.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from sqlalchemy import exc

from kapmonitor.bed.station import Station
from kapmonitor.cli.errors import CommandError
from kapmonitor.core.beds import bed_or_configured
from kapmonitor.core.clock import iso
from kapmonitor.core.errors import UserError
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


def _check_device(protocol: str, address: str) -> None:
    """Refuse a device that cannot be recorded: a Bluetooth one, or a serial port path that is not there."""
    if descriptor(protocol).link == "network":  # a listener: its own bind error says what is wrong
        return
    if descriptor(protocol).link != "serial":
        raise CommandError(
            f"--device {protocol}@{address}: Bluetooth devices cannot be recorded from the command "
            "line in this build"
        )
    if "://" in address:  # a pyserial URL (socket://, rfc2217://): it says so itself when it connects
        return
    path = Path(address)
    reason = None
    if not path.exists():
        reason = "no such port"
    elif path.is_dir():
        reason = "that is a directory, not a port"
    elif not os.access(path, os.R_OK | os.W_OK):
        reason = "this account may not read and write it (on Linux: add it to the dialout group)"
    if reason:
        raise CommandError(
            f"--device {protocol}@{address}: cannot open {address}: {reason}; check the cable and the port "
            "(`kapmonitor devices list`), or give --wait-for-device to record while it reconnects"
        )


def _add_device(station: Station, protocol: str, address: str) -> None:
    if descriptor(protocol).link == "network":  # a listener: every monitor that connects records to this bed
        from kapmonitor.bed.devices import transport_for
        from kapmonitor.devices.config import DeviceConfig

        station.add_transport(transport_for(DeviceConfig(protocol, "network", address), station))
        return
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
    for protocol, address in devices:
        if not getattr(args, "wait_for_device", False) or descriptor(protocol).link != "serial":
            _check_device(protocol, address)
    try:
        return _record(args, devices)
    except exc.SQLAlchemyError as error:
        raise CommandError(_database_refused(error)) from None


def _database_refused(error: exc.SQLAlchemyError) -> str:
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    if "full" in reason:
        return f"cannot record: the disk holding the database is full ({reason}); nothing was recorded"
    return f"cannot record: the database refused to write ({reason}); nothing was recorded"


def _record(args: argparse.Namespace, devices: list[tuple[str, str]]) -> int:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    station = Station(args.db, bed=bed_or_configured(args.bed))
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        resume = getattr(args, "resume", None)
        if resume is None:
            _offer_recovery(station)
        for protocol, address in devices:
            _add_device(station, protocol, address)
        for protocol in args.simulate:
            station.add_simulated(protocol)
        station.start()
        if resume is not None:
            try:
                station.resume_session(resume)
            except UserError as error:
                raise CommandError(f"--resume {resume}: {error}") from None
            session_id = resume
        else:
            session_id = station.start_session(args.patient)
        print(session_id, flush=True)
        _wait(station, stop, args.duration)
    finally:
        station.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _offer_recovery(station: Station) -> None:
    """Name each session a crash left in progress, and the two ways out, as the application's prompt does."""
    for found in station.recovery.interrupted():
        when = iso(found.last_data_us) if found.last_data_us is not None else "its start"
        print(
            f"kapmonitor: session {found.session_id} ({found.patient}) was interrupted at {when}: "
            f"`kapmonitor record --resume {found.session_id} ...` continues it, "
            f"`kapmonitor sessions recover {found.session_id}` closes it at its last data",
            file=sys.stderr,
            flush=True,
        )


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

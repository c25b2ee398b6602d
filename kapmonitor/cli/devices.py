"""``kapmonitor devices list [--probe]`` (serial ports) and ``kapmonitor devices scan [--timeout S]``
(Bluetooth)."""

from __future__ import annotations

import argparse
import sys

from kapmonitor.devices.links.ports import format_port, list_serial_ports


def _list(args: argparse.Namespace) -> int:
    ports = list_serial_ports()
    if not ports:
        print(
            "No serial ports found. Plug in the USB serial adapter, or run `kapmonitor simulate` to make one."
        )
    probing = getattr(args, "probe", False)
    for port in ports:
        print(format_port(port), flush=True)
        if probing:
            from kapmonitor.devices.links.probe import describe, probe_port

            print("    " + describe(probe_port(str(port["device"]))), flush=True)
    return 0


def _scan(args: argparse.Namespace) -> int:
    from kapmonitor.devices.ble.scan import BluetoothUnavailable, describe, scan

    timeout = float(getattr(args, "timeout", 8.0))
    print(f"Scanning for Bluetooth LE health devices for {timeout:g} s ...", flush=True)
    try:
        found = scan(timeout)
    except BluetoothUnavailable as exc:
        print(f"kapmonitor: {exc}", file=sys.stderr)
        return 1
    if not found:
        print("No Bluetooth health devices found. Wake the device (press its button) and keep it close.")
    for device in found:
        print(describe(device))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.devices_command == "scan":
        return _scan(args)
    return _list(args)

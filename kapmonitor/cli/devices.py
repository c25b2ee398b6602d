"""``kapmonitor devices list [--probe]`` (serial ports) and ``kapmonitor devices scan [--timeout S]``
(Bluetooth)."""

from __future__ import annotations

import argparse
import sys


def list_serial_ports() -> list[dict[str, object]]:
    """Every serial port pyserial finds, with what USB says about the adapter behind it."""
    from serial.tools import list_ports

    ports = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        ports.append(
            {
                "device": port.device,
                "description": port.description if port.description and port.description != "n/a" else "",
                "vid": port.vid,
                "pid": port.pid,
                "serial_number": port.serial_number,
                "manufacturer": port.manufacturer,
                "product": port.product,
            }
        )
    return ports


def format_port(port: dict[str, object]) -> str:
    line = str(port["device"])
    if port["vid"] is not None and port["pid"] is not None:
        line += f"  USB {port['vid']:04x}:{port['pid']:04x}"
    if port["serial_number"]:
        line += f"  serial number {port['serial_number']}"
    if port["description"]:
        line += f"  {port['description']}"
    return line


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

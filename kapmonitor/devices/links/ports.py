"""The serial ports on this machine, with what USB says about the adapter behind each: what
``kapmonitor devices list`` prints and the Devices window offers."""

from __future__ import annotations


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

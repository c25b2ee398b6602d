"""A USB serial adapter pulled out and plugged back in under a new port name is found again by its serial
number; the gap is recorded."""

from __future__ import annotations

from link_test_protocol import DESCRIPTOR, Collected, LinkTestSimulator, wait_for
from serial.tools.list_ports_common import ListPortInfo

from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.links.serial import SerialTransport, port_with_serial_number
from kapmonitor.devices.links.transport import LinkState


class FakePortList:
    """What serial.tools.list_ports.comports would say: the ports present now, with their USB serial numbers."""

    def __init__(self) -> None:
        self.ports: list[ListPortInfo] = []

    def plug(self, device: str, serial_number: str) -> None:
        port = ListPortInfo(device, skip_link_detection=True)
        port.vid, port.pid, port.serial_number = 0x0403, 0x6001, serial_number
        self.ports = [port]

    def __call__(self) -> list[ListPortInfo]:
        return list(self.ports)


def test_the_port_of_a_serial_number_is_looked_up_among_the_present_ports() -> None:
    ports = FakePortList()
    assert port_with_serial_number("FT1234", ports) is None
    ports.plug("/dev/ttyUSB3", "FT1234")
    assert port_with_serial_number("FT1234", ports) == "/dev/ttyUSB3"
    assert port_with_serial_number("OTHER", ports) is None


def test_an_adapter_back_under_a_new_name_is_followed_and_the_gap_recorded() -> None:
    ports = FakePortList()
    first = PtyDevice(LinkTestSimulator(), name="ttyUSB0", speed=2.0).start()
    second = PtyDevice(LinkTestSimulator(), name="ttyUSB1", speed=2.0)
    ports.plug(first.port, "FT1234")
    got = Collected()
    link = SerialTransport(DESCRIPTOR, first.port, serial_number="FT1234", list_ports=ports)
    link.start(got)
    try:
        wait_for(lambda: len(got.samples()) >= 5, what="data from the first port")
        first.unplug()
        ports.ports = []
        wait_for(lambda: link.state == LinkState.RECONNECTING, what="reconnecting")
        second.start()
        ports.plug(second.port, "FT1234")
        wait_for(lambda: got.events("port_moved"), what="the adapter found again")
        seen = len(got.samples())
        wait_for(lambda: len(got.samples()) > seen + 5, what="data from the new port")
    finally:
        link.stop()
        first.stop()
        second.stop()
    assert got.events("gap")
    moved = got.events("port_moved")[0]
    assert moved.detail == f"USB adapter FT1234 moved from {first.port} to {second.port}"
    assert link.port == second.port and link.device == f"link-test@{first.port}"  # same device id
    assert link.reconnects == 1

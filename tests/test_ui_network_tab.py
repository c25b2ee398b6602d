"""The Devices window's Network (HL7) tab with real widgets: the technician binds the bed to a monitor's EUI-64,
the listener takes that monitor's messages on a loopback socket and refuses another's; screenshots at the two
sizes a clinic's screens have."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from kapmonitor.bed.station import Station
from kapmonitor.devices.config import load
from kapmonitor.devices.hl7.simulator import Hl7MonitorSimulator
from kapmonitor.devices.links.mllp import Binding, MllpListener
from kapmonitor.devices.links.mllp_client import send_all
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.ui.devices.window import DevicesWindow
from kapmonitor.ui.theme import DARK

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    bed = Station(f"sqlite:///{tmp_path / 'bed.sqlite'}")
    bed.start()
    yield bed
    bed.stop()


def messages(eui64: str) -> list[bytes]:
    sim = Hl7MonitorSimulator(PhysiologicalModel(seed=4))
    return [sim.message_at(t).encode().replace(b"0012A1FFFE000001", eui64.encode()) for t in (1.0, 2.0)]


def test_binding_the_bed_to_a_monitor_from_the_network_tab(qtbot, station: Station) -> None:  # noqa: ANN001
    window = DevicesWindow(station, theme=DARK, list_ports=lambda: [])
    qtbot.addWidget(window)
    tab = window.network_tab
    window.tabs.setCurrentWidget(tab)
    tab.endpoint.setText("tcp://127.0.0.1:0")
    tab.bind_by.setCurrentIndex(tab.bind_by.findData("eui64"))
    qtbot.mouseClick(tab.listen_button, qtbot_button())
    assert "Enter the monitor's EUI-64" in tab.message.text()
    tab.bind_value.setText("0012A1FFFE0000AA")
    qtbot.mouseClick(tab.listen_button, qtbot_button())
    (listener,) = [t for t in station.transports if isinstance(t, MllpListener)]
    assert listener.binding == Binding("eui64", "0012A1FFFE0000AA")
    assert load().devices[-1].bind_value == "0012A1FFFE0000AA"
    endpoint = f"tcp://127.0.0.1:{listener.port}"
    assert [a.code for a in asyncio.run(send_all(endpoint, messages("0012A1FFFE0000AA")))] == ["AA", "AA"]
    assert [a.code for a in asyncio.run(send_all(endpoint, messages("0012A1FFFE0000BB")))] == ["AR", "AR"]
    qtbot.waitUntil(lambda: station.buffers.latest(("hl7-pcd01@0012A1FFFE0000AA", "spo2")) is not None, timeout=5000)


def qtbot_button():  # noqa: ANN201
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_screenshot_of_the_network_tab(qtbot, station: Station, tmp_path: Path, size: tuple[int, int]) -> None:  # noqa: ANN001
    window = DevicesWindow(station, theme=DARK, list_ports=lambda: [])
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    tab = window.network_tab
    window.tabs.setCurrentWidget(tab)
    tab.bind_by.setCurrentIndex(tab.bind_by.findData("eui64"))
    tab.bind_value.setText("0012A1FFFE000001")
    tab.message.setText("Listening on tcp://0.0.0.0:2575; the monitor appears under This bed when it sends.")
    tab.show_outbox("tcp://engine.clinic.lan:2575", 3, 118, "cannot reach tcp://engine.clinic.lan:2575: timed out")
    QApplication.processEvents()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    image = window.grab().toImage()
    path = out / f"devices-network-{size[0]}x{size[1]}.png"
    assert image.save(str(path))
    assert (image.width(), image.height()) == size

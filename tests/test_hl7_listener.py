"""The hl7-pcd01 listener on a real loopback socket, fed by kapmonitor's own MLLP sender."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest
from link_test_protocol import Collected

from kapmonitor.core.readings import DecodeError, WaveChunk
from kapmonitor.devices.hl7.framing import mllp_frame
from kapmonitor.devices.hl7.simulator import Hl7MonitorSimulator
from kapmonitor.devices.links.mllp import Binding, ListenerError, MllpListener
from kapmonitor.devices.links.mllp_client import Answer, MllpConnection, send_all
from kapmonitor.devices.simulation.physiology import PhysiologicalModel


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def listening() -> Iterator[tuple[MllpListener, Collected, str]]:
    collected = Collected()
    listener = MllpListener("tcp://127.0.0.1:0", idle_timeout_s=30)
    listener.start(collected)
    try:
        yield listener, collected, f"tcp://127.0.0.1:{listener.port}"
    finally:
        listener.stop()


def monitor_messages(seconds: int, *, name: str = "KAPSIM_MON", patient: str = "", **kw: object) -> list[bytes]:
    sim = Hl7MonitorSimulator(PhysiologicalModel(seed=3), name=name, patient_id=patient, **kw)  # type: ignore[arg-type]
    return [sim.message_at(float(t)).encode() for t in range(1, seconds + 1)]


def renamed(messages: list[bytes], eui64: str) -> list[bytes]:
    return [m.replace(b"0012A1FFFE000001", eui64.encode()) for m in messages]


def test_a_monitor_is_answered_aa_and_its_readings_reach_the_bed(listening) -> None:  # type: ignore[no-untyped-def]
    listener, collected, endpoint = listening
    answers = asyncio.run(send_all(endpoint, monitor_messages(3)))
    assert [a.code for a in answers] == ["AA", "AA", "AA"]
    wait_for(lambda: len(collected.readings()) >= 18)
    assert {r.device for r in collected.readings()} == {"hl7-pcd01@0012A1FFFE000001"}
    assert {r.metric for r in collected.readings()} >= {"spo2", "pulse_rate", "heart_rate", "resp_rate", "etco2"}
    assert all(c.rate_hz == 75 for c in collected.of(WaveChunk))
    assert listener.monitors == ["hl7-pcd01@0012A1FFFE000001"]


def test_an_older_nibp_lands_its_age_before_arrival_on_the_station_clock(listening) -> None:  # type: ignore[no-untyped-def]
    _, collected, endpoint = listening
    before = time.time() * 1e6
    with_nibp = [m for m in monitor_messages(41) if b"150021^" in m]  # the cuff started at 5 s, read out at 40 s
    asyncio.run(send_all(endpoint, with_nibp))
    wait_for(lambda: any(r.metric == "nibp_systolic" for r in collected.readings()))
    (nibp,) = [r for r in collected.readings() if r.metric == "nibp_systolic"]
    (spo2,) = [r for r in collected.readings() if r.metric == "spo2"]
    assert spo2.t_us - nibp.t_us == 35_000_000
    assert before - 36e6 < nibp.t_us < before


def test_two_monitors_at_once_and_one_sending_garbage_leaves_the_others_whole(listening) -> None:  # type: ignore[no-untyped-def]
    _, collected, endpoint = listening
    a, b = monitor_messages(5), renamed(monitor_messages(5, name="OTHER"), "0012A1FFFE0000BB")

    async def scene() -> tuple[list[Answer], list[Answer]]:
        host, port = endpoint.removeprefix("tcp://").split(":")
        _, noisy = await asyncio.open_connection(host, int(port))
        noisy.write(b"\x00\xff garbage " * 1000 + b"\x0bMSH|^~\\&|half a message")
        await noisy.drain()
        results = await asyncio.gather(send_all(endpoint, a), send_all(endpoint, b))
        noisy.close()  # drops mid-message
        return results[0], results[1]

    first, second = asyncio.run(scene())
    assert {x.code for x in first + second} == {"AA"}
    wait_for(lambda: len(collected.readings()) >= 60)
    devices = {r.device for r in collected.readings()}
    assert devices == {"hl7-pcd01@0012A1FFFE000001", "hl7-pcd01@0012A1FFFE0000BB"}
    for device in devices:
        assert len([r for r in collected.readings(device) if r.metric == "spo2"]) == 5
    wait_for(lambda: {e.reason for e in collected.of(DecodeError)} >= {"garbage", "truncated"})


def test_a_bad_message_gets_ar_naming_the_reason_and_the_connection_stays_open(listening) -> None:  # type: ignore[no-untyped-def]
    _, collected, endpoint = listening
    good = monitor_messages(1)[0]

    async def scene() -> list[Answer]:
        connection = await MllpConnection.open(endpoint)
        try:
            return [
                await connection.send(b"PID|||no header"),
                await connection.send(good.replace(b"ORU^R01^ORU_R01", b"ADT^A01")),
                await connection.send(
                    b"MSH|^~\\&|X|||||||ORU^R01|9|P|2.6\r" + b"OBX|1|ST|1^x^99X||" + b"y" * 10_000_000
                ),
                await connection.send(good),
            ]
        finally:
            await connection.close()

    answers = asyncio.run(scene())
    assert [a.code for a in answers] == ["AR", "AR", "AR", "AA"]
    assert "no MSH" in answers[0].reason and "ADT A01" in answers[1].reason and "longer than" in answers[2].reason
    wait_for(lambda: len(collected.readings()) >= 6)


def test_a_client_that_connects_and_says_nothing_costs_nobody_anything() -> None:
    collected = Collected()
    listener = MllpListener("tcp://127.0.0.1:0", idle_timeout_s=0.3)
    listener.start(collected)
    try:
        silent = socket.create_connection(("127.0.0.1", listener.port))
        answers = asyncio.run(send_all(f"tcp://127.0.0.1:{listener.port}", monitor_messages(2)))
        assert [a.code for a in answers] == ["AA", "AA"]
        silent.settimeout(5)
        assert silent.recv(10) == b""  # closed by the listener after its idle time
        silent.close()
    finally:
        listener.stop()


def test_a_monitor_not_bound_to_this_bed_is_refused_and_nothing_of_it_recorded() -> None:
    collected = Collected()
    listener = MllpListener("tcp://127.0.0.1:0", binding=Binding("eui64", "00-12-A1-FF-FE-00-00-BB"))
    listener.start(collected)
    try:
        endpoint = f"tcp://127.0.0.1:{listener.port}"
        ours = renamed(monitor_messages(2), "0012A1FFFE0000BB")
        theirs = monitor_messages(2)
        assert [a.code for a in asyncio.run(send_all(endpoint, ours))] == ["AA", "AA"]
        refused = asyncio.run(send_all(endpoint, theirs))
        assert [a.code for a in refused] == ["AR", "AR"] and "not bound to this bed" in refused[0].reason
        wait_for(lambda: len(collected.readings()) >= 12)
        assert {r.device for r in collected.readings()} == {"hl7-pcd01@0012A1FFFE0000BB"}
    finally:
        listener.stop()


def test_binding_by_the_chairs_patient() -> None:
    chair = {"patient": "KAP-0042"}
    collected = Collected()
    listener = MllpListener("tcp://127.0.0.1:0", binding=Binding("patient"), chair_patient=lambda: chair["patient"])
    listener.start(collected)
    try:
        endpoint = f"tcp://127.0.0.1:{listener.port}"
        assert asyncio.run(send_all(endpoint, monitor_messages(1, patient="KAP-0042")))[0].code == "AA"
        assert asyncio.run(send_all(endpoint, monitor_messages(1, patient="KAP-0099")))[0].code == "AR"
    finally:
        listener.stop()


def test_demo_mode_is_never_recorded_as_patient_data(listening) -> None:  # type: ignore[no-untyped-def]
    _, collected, endpoint = listening
    demo = [m.replace(b"|P|2.6|", b"|T|2.6|") for m in monitor_messages(2)]
    assert {a.code for a in asyncio.run(send_all(endpoint, demo))} == {"AA"}
    wait_for(lambda: any(getattr(i, "kind", "") == "demo" for i in collected.snapshot()))
    assert collected.readings() == [] and collected.of(WaveChunk) == []


def test_a_port_in_use_is_one_clear_error() -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    try:
        listener = MllpListener(f"tcp://127.0.0.1:{holder.getsockname()[1]}")
        with pytest.raises(ListenerError, match="cannot listen"):
            listener.start(Collected())
    finally:
        holder.close()
    with pytest.raises(ListenerError, match="tcp://HOST:PORT"):
        MllpListener("udp://nowhere")


def test_a_frame_split_across_writes_is_one_message(listening) -> None:  # type: ignore[no-untyped-def]
    _, collected, endpoint = listening
    frame = mllp_frame(monitor_messages(1)[0])
    host, port = endpoint.removeprefix("tcp://").split(":")
    with socket.create_connection((host, int(port))) as s:
        for i in range(0, len(frame), 7):
            s.sendall(frame[i : i + 7])
            time.sleep(0.001)
        s.settimeout(5)
        ack = s.recv(4096)
    assert ack.startswith(b"\x0bMSH|") and b"MSA|AA|" in ack
    wait_for(lambda: len(collected.readings()) == 6)


def test_a_monitor_whose_connection_closes_is_disconnected_until_it_sends_again(listening) -> None:  # type: ignore[no-untyped-def]
    listener, collected, endpoint = listening
    device = "hl7-pcd01@0012A1FFFE000001"

    def kinds() -> list[str]:
        return [e.kind.value for e in collected.events() if e.device == device]

    asyncio.run(send_all(endpoint, monitor_messages(1)))
    wait_for(lambda: kinds() == ["connected", "disconnected"])
    assert "0012A1FFFE000001 (disconnected)" in listener.status().message
    asyncio.run(send_all(endpoint, monitor_messages(1)))
    wait_for(lambda: kinds() == ["connected", "disconnected", "connected", "disconnected"])

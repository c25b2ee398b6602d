"""Outbound HL7: a recorded session as ORU^R01 messages, the persistent outbox, and the sender that delivers it in
order to an interface engine on a loopback socket (python-hl7's own MLLP server plays the engine)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest
from export_session import PATIENT, RecordedSession, S, record_session
from hl7.mllp import start_hl7_server
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from sqlalchemy import text

from kapmonitor.bed.hl7_outbound import OutboundSender
from kapmonitor.bed.station import Station
from kapmonitor.cli.parser import main
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices.hl7.decoder import Hl7Decoder
from kapmonitor.export.hl7_export import hl7_messages, queue_session
from kapmonitor.export.loader import SessionData
from kapmonitor.store.db import engine_for
from kapmonitor.store.hl7_outbox import Hl7Outbox


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    return record_session(tmp_path_factory.mktemp("hl7-out"))


@pytest.fixture(scope="module")
def data(recorded: RecordedSession) -> Iterator[SessionData]:
    engine = engine_for(recorded.url)
    yield recorded.load(engine)
    engine.dispose()


class Engine:
    """A clinic's interface engine: an MLLP server that records what it accepted and can refuse some first."""

    def __init__(self, port: int = 0, refuse_first: int = 0) -> None:
        self.accepted: list[str] = []
        self.refused: list[str] = []
        self.refuse_first = refuse_first
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Engine:
        self._thread.start()
        assert self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._close)
        self._thread.join(5)

    def _close(self) -> None:
        """The engine goes down: its connections close, so each handler ends on its own end of stream."""
        for writer in list(self._writers):
            writer.close()
        self._loop.call_later(0.1, self._loop.stop)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def handle(reader, writer) -> None:  # type: ignore[no-untyped-def]
            self._writers.add(writer)
            try:
                while not writer.is_closing():
                    message = await reader.readmessage()
                    control = str(message.segment("MSH")[10])
                    if len(self.refused) < self.refuse_first:
                        self.refused.append(control)
                        writer.writemessage(message.create_ack("AR"))
                    else:
                        self.accepted.append(control)
                        writer.writemessage(message.create_ack("AA"))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
            finally:
                self._writers.discard(writer)

        server = self._loop.run_until_complete(start_hl7_server(handle, "127.0.0.1", self.port))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())


def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_every_outbound_message_validates_as_a_v2_6_oru_r01_with_hl7apy(data: SessionData) -> None:
    messages = hl7_messages(data)
    assert messages and [m.t_us for m in messages] == sorted(m.t_us for m in messages)
    for m in messages:
        parsed = parse_message(m.text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        assert parsed.validate(), m.control_id
        assert parsed.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"


def test_vitals_are_charted_per_minute_and_doses_and_ratings_are_sent(data: SessionData) -> None:
    texts = [m.text for m in hl7_messages(data)]
    vitals = [t for t in texts if "MDC_PULS_OXIM_SAT_O2" in t]
    assert 40 <= len(vitals) <= 46  # 45 minutes, one SpO2 per minute with a trusted value
    assert all(t.count("150456^MDC_PULS_OXIM_SAT_O2") == 1 for t in vitals)
    assert sum(t.count("150021^MDC_PRESS_BLD_NONINV_SYS") for t in texts) == 9  # every NIBP measurement
    doses = [t for t in texts if "KAP-DOSE" in t]
    assert len(doses) == 2 and all("|28|mg^mg^UCUM|" in t and "46713006^Nasal route^SCT" in t for t in doses)
    assert any("KAP-MOAAS" in t.upper() for t in texts)
    assert all(f"PID|||{PATIENT}^^^KAPMONITOR^PI" in t for t in texts)


def test_sessions_export_hl7_writes_what_decode_reads_back(recorded: RecordedSession, tmp_path: Path) -> None:
    out = tmp_path / "session.hl7"
    assert main(["sessions", "export", "1", "--format", "hl7", "--out", str(out), "--db", recorded.url]) == 0
    decoder = Hl7Decoder()
    items = decoder.feed(out.read_bytes()) + decoder.finish()
    spo2 = [i for i in items if isinstance(i, Reading) and i.metric == "spo2"]
    assert len(spo2) >= 40 and all(r.t_device is not None and r.t_device.tzinfo for r in spo2)
    assert {e.reason for e in items if isinstance(e, DecodeError)} <= {"unknown_code"}  # doses are not vitals


def test_the_outbox_keeps_order_and_never_queues_a_message_twice(recorded: RecordedSession, tmp_path: Path) -> None:
    engine = engine_for(recorded.url)
    try:
        outbox = Hl7Outbox(engine)
        added = queue_session(engine, 1, "tcp://127.0.0.1:9")
        assert added > 40 and queue_session(engine, 1, "tcp://127.0.0.1:9") == 0
        rows = outbox.rows(destination="tcp://127.0.0.1:9")
        assert [r.id for r in rows] == sorted(r.id for r in rows)
        assert [r.t_us for r in rows] == sorted(r.t_us for r in rows)
    finally:
        engine.dispose()


def test_nothing_is_lost_while_the_engine_is_down_and_it_all_goes_in_order_when_it_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorded = record_session(tmp_path)
    engine = engine_for(recorded.url)
    with Engine() as probe:
        port = probe.port  # a free port, closed again: the engine is down
    destination = f"tcp://127.0.0.1:{port}"
    queued = queue_session(engine, 1, destination)
    sender = OutboundSender(engine, destination, retry_first_s=0.05, retry_max_s=0.2, ack_timeout_s=2)
    caplog.set_level(logging.WARNING)
    sender.start()
    try:
        wait_for(lambda: Hl7Outbox(engine).rows(destination=destination)[0].attempts >= 2)
        head = Hl7Outbox(engine).rows(destination=destination)[0]
        assert "cannot reach" in head.last_error and sender.status().pending == queued
        with Engine(port=port, refuse_first=1) as interface_engine:
            wait_for(lambda: sender.status().pending == 0)
        expected = [r.control_id for r in Hl7Outbox(engine).rows(destination=destination, include_sent=True)]
        assert interface_engine.refused == [expected[0]]  # a NAK: logged, and the same message tried again
        assert interface_engine.accepted == expected  # every message once, in order
        assert any("not accepted (AR" in r.message for r in caplog.records)
    finally:
        sender.stop()
        engine.dispose()


def test_a_session_ended_after_the_interface_was_set_up_is_queued_by_itself(tmp_path: Path) -> None:
    recorded = record_session(tmp_path)
    engine = engine_for(recorded.url)
    try:
        with Engine() as interface_engine:
            sender = OutboundSender(engine, f"tcp://127.0.0.1:{interface_engine.port}", since_us=0)
            assert sender.send_until_empty(timeout_s=30)
            sent = Hl7Outbox(engine).rows(include_sent=True)
            assert len(sent) > 40 and {r.session_id for r in sent} == {1} and {r.status for r in sent} == {"sent"}
            assert interface_engine.accepted == [r.control_id for r in sent]
    finally:
        engine.dispose()


def test_the_technician_sees_the_queue(recorded: RecordedSession, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hl7", "queue", "1", "--to", "tcp://127.0.0.1:7", "--db", recorded.url]) == 0
    assert "messages queued for tcp://127.0.0.1:7" in capsys.readouterr().out
    assert main(["hl7", "outbox", "--json", "--db", recorded.url]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["destination"] == "tcp://127.0.0.1:7"]
    first = rows[0]["control_id"]
    assert rows and rows[0]["status"] == "pending" and first.startswith("KAP1V")
    assert main(["hl7", "outbox", "--db", recorded.url]) == 0
    assert first in capsys.readouterr().out
    assert main(["hl7", "queue", "1", "--to", "nowhere", "--db", recorded.url]) == 2
    assert "tcp://HOST:PORT" in capsys.readouterr().err
    assert main(["hl7", "queue", "99", "--to", "tcp://127.0.0.1:7", "--db", recorded.url]) == 2


def test_an_ack_built_by_python_hl7_reads_as_accepted() -> None:
    from kapmonitor.devices.hl7.ack import ack_code_of

    message = hl7.parse("MSH|^~\\&|A|B|C|D|20260101||ORU^R01|5|P|2.6\rPID|||1")
    assert ack_code_of(str(message.create_ack("AA"))) == ("AA", "")


def test_a_session_still_recording_sends_its_settled_minutes_and_the_rest_when_it_ends(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 'bed.sqlite'}")
    station.start()
    try:
        session = station.start_session("KAP-0042")
        now = now_us()
        station.repository.backdate_start(session, now - 21 * 60 * S)
        monitor = "hl7-pcd01@0012A1FFFE000001"
        station.hub.publish([Reading("spo2", 97, "%", t_us=now - s * S, device=monitor) for s in range(1200, 0, -10)])
        assert station.hub.sync() and station.recorder is not None and station.recorder.flush(10)
        with Engine() as interface_engine:
            destination = f"tcp://127.0.0.1:{interface_engine.port}"
            sender = OutboundSender(station.database, destination, since_us=0, sweep_every_s=0)
            assert sender.send_until_empty(timeout_s=30)
            during = list(interface_engine.accepted)
            assert 14 <= len(during) <= 17  # the minutes that ended 5 minutes ago or more
            assert all(c.startswith(f"KAP{session}V") for c in during)
            station.stop_session()
            assert sender.send_until_empty(timeout_s=30)
            after = interface_engine.accepted[len(during) :]
        assert 20 <= len(during) + len(after) <= 21 and not set(after) & set(during)
        assert queue_session(station.database, session, destination) == 0  # all of it is queued, once
    finally:
        station.stop()


def test_a_message_the_engine_never_takes_can_be_skipped_and_the_skip_is_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = record_session(tmp_path)
    engine = engine_for(recorded.url)
    try:
        with Engine(refuse_first=1000) as refusing:
            destination = f"tcp://127.0.0.1:{refusing.port}"
            queue_session(engine, 1, destination)
            sender = OutboundSender(engine, destination, retry_first_s=0.05, retry_max_s=0.1)
            assert not sender.send_until_empty(timeout_s=1.0)
            head = Hl7Outbox(engine).rows(destination=destination)[0]
            assert head.attempts >= 2 and head.last_error.startswith("AR")
            assert set(refusing.refused) == {head.control_id}  # nothing overtook it
        args = ["hl7", "skip", str(head.id), "--reason", "engine rejects the patient id", "--user", "tech"]
        assert main([*args, "--db", recorded.url]) == 0
        assert f"{head.control_id} skipped" in capsys.readouterr().out
        assert main([*args, "--db", recorded.url]) == 2  # not pending any more
        assert "no pending HL7 message" in capsys.readouterr().err
        remaining = Hl7Outbox(engine).rows(destination=destination)
        assert remaining and remaining[0].id > head.id
        with engine.connect() as conn:
            audited = conn.execute(
                text("SELECT user, action, payload FROM audit_entry WHERE action LIKE 'hl7.%' ORDER BY seq")
            ).all()
        assert [(u, a) for u, a, _ in audited] == [("kapmonitor", "hl7.queue"), ("tech", "hl7.skip")]
        assert "engine rejects the patient id" in audited[1][2]
        assert main(["audit", "verify", "--db", recorded.url]) == 0
    finally:
        engine.dispose()

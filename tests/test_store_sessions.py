"""`sessions list --json` is a contract: its shape, counts and first/last times are checked exactly here."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from kapmonitor.cli import main
from kapmonitor.core.clock import SampleClock, iso
from kapmonitor.core.readings import LinkEvent, Reading, WaveChunk
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository, UnknownSession

T0 = 1_763_700_000_000_000
OXIMETER = "nonin-df7@/dev/ttyUSB0"
CUFF = "suntech-advantage@/dev/ttyUSB1"


def record_two_sessions(engine: Engine) -> tuple[int, int]:
    """Session 1: an oximeter (SpO2, pleth with a gap) and a cuff, ended. Session 2: still running."""
    repository = SessionRepository(engine)
    recorder = Recorder(engine)
    try:
        recorder.register_device(OXIMETER, "nonin-df7", "/dev/ttyUSB0")
        first = repository.start_session(
            "KAP-0042", "IV ketamine 0.5 mg/kg", room="2", nurse="R. Ortiz", bed="chair 2"
        )
        recorder.begin(first)
        clock = SampleClock(75.0)
        pleth = [
            WaveChunk(
                "pleth", 75.0, tuple(range(25)), t_us=clock.place(25, T0 + 333_333 * (k + 1)), device=OXIMETER
            )
            for k in range(6)
        ]
        after_gap = WaveChunk("pleth", 75.0, tuple(range(25)), t_us=T0 + 10_000_000, device=OXIMETER)
        recorder.write(
            [
                LinkEvent("connected", "", T0 - 1_000, OXIMETER),
                *pleth,
                after_gap,
                Reading("spo2", 97.0, "%", t_us=T0 + 1_000_000, device=OXIMETER),
                Reading("spo2", None, "%", frozenset({"sensor_off"}), t_us=T0 + 2_000_000, device=OXIMETER),
                Reading("spo2", 96.0, "%", t_us=T0 + 3_000_000, device=OXIMETER),
                Reading("nibp_systolic", 128.0, "mmHg", t_us=T0 + 4_000_000, device=CUFF),
            ]
        )
        assert recorder.flush(timeout=30)
        recorder.end()
        repository.end_session(first)
        second = repository.start_session("KAP-0043")
    finally:
        recorder.stop()
    return first, second


def session_times(engine: Engine, session_id: int) -> tuple[int, int | None]:
    with engine.connect() as conn:
        start, end = conn.execute(text(f"SELECT start_us, end_us FROM session WHERE id = {session_id}")).one()
    return start, end


def test_sessions_list_json_has_the_contract_shape(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = record_two_sessions(engine)
    start1, end1 = session_times(engine, first)
    start2, _ = session_times(engine, second)
    assert main(["sessions", "list", "--json", "--db", db_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [
        {
            "id": first,
            "patient": "KAP-0042",
            "protocol": "IV ketamine 0.5 mg/kg",
            "room": "2",
            "bed": "chair 2",
            "nurse": "R. Ortiz",
            "status": "ended",
            "start": iso(start1),
            "end": iso(end1),
            "tracks": [
                {
                    "device": OXIMETER,
                    "metric": "pleth",
                    "kind": "wave",
                    "samples": 175,
                    "first": iso(T0),
                    "last": iso(T0 + 10_000_000 + round(24 * 1_000_000 / 75)),
                },
                {
                    "device": OXIMETER,
                    "metric": "spo2",
                    "kind": "numeric",
                    "samples": 3,
                    "first": iso(T0 + 1_000_000),
                    "last": iso(T0 + 3_000_000),
                },
                {
                    "device": CUFF,
                    "metric": "nibp_systolic",
                    "kind": "numeric",
                    "samples": 1,
                    "first": iso(T0 + 4_000_000),
                    "last": iso(T0 + 4_000_000),
                },
            ],
            "interrupted": False,
        },
        {
            "id": second,
            "patient": "KAP-0043",
            "protocol": "",
            "room": "",
            "bed": "",
            "nurse": "",
            "status": "in_progress",
            "start": iso(start2),
            "end": None,
            "tracks": [],
            "interrupted": True,  # in progress, and no running kapmonitor owns it
        },
    ]
    assert listed[0]["start"][-6] in "+-"  # ISO-8601 with its UTC offset


def test_sessions_show_adds_devices_and_link_events(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = record_two_sessions(engine)
    assert main(["sessions", "show", str(first), "--json", "--db", db_url]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == first and len(shown["tracks"]) == 3
    assert shown["devices"] == [
        {"device": OXIMETER, "protocol": "nonin-df7", "address": "/dev/ttyUSB0"},
        {"device": CUFF, "protocol": "suntech-advantage", "address": "/dev/ttyUSB1"},
    ]
    assert shown["link_events"] == [
        {"device": OXIMETER, "t": iso(T0 - 1_000), "kind": "connected", "detail": ""}
    ]


def test_readable_tables(engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = record_two_sessions(engine)
    assert main(["sessions", "list", "--db", db_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "PATIENT", "PROTOCOL", "BED", "STATUS", "START", "END", "TRACKS"]
    assert lines[1].split()[:2] == [str(first), "KAP-0042"] and lines[1].split()[-1] == "3"
    assert lines[2].split()[:2] == [str(second), "KAP-0043"] and "in_progress" in lines[2]
    assert main(["sessions", "show", str(first), "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "patient KAP-0042" in out and "bed: chair 2" in out and "nibp_systolic" in out and "connected" in out


def test_an_empty_database_lists_nothing(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:  # engine: the database exists (a command that only reads never creates one)
    assert main(["sessions", "list", "--json", "--db", db_url]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["sessions", "list", "--db", db_url]) == 0
    assert capsys.readouterr().out.strip() == "no sessions recorded yet"


def test_unknown_session_and_export_are_clear_errors(
    engine: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sessions", "show", "99", "--db", db_url]) == 2
    assert capsys.readouterr().err.strip() == "kapmonitor: no session 99 in this database"
    assert main(["sessions", "export", "1", "--format", "csv", "--out", "x.csv", "--db", db_url]) == 2
    assert capsys.readouterr().err.strip() == "kapmonitor: no session 1 in this database"


def test_ending_a_session_stamps_its_end_once(engine: Engine) -> None:
    repository = SessionRepository(engine)
    session = repository.start_session("KAP-0001")
    repository.end_session(session)
    ended = session_times(engine, session)
    repository.end_session(session)
    assert session_times(engine, session) == ended and ended[1] is not None and ended[1] >= ended[0]
    assert repository.start_session("KAP-0001") != session  # same patient, new session
    with pytest.raises(UnknownSession):
        repository.end_session(12345)


def test_recorded_readings_follow_a_running_session_reading_only_new_rows(tmp_path) -> None:  # noqa: ANN001
    from kapmonitor.core.readings import Reading
    from kapmonitor.store.recorder import Recorder
    from kapmonitor.store.repository import RecordedReadings, SessionRepository

    engine = open_database(f"sqlite:///{tmp_path / 'r.sqlite'}")
    repository = SessionRepository(engine)
    session = repository.start_session("KAP-0001")
    recorder = Recorder(engine)
    recorder.register_device("cuff@x", "suntech-advantage", "x")
    recorder.begin(session)
    recorder.write([Reading("nibp_systolic", 128, "mmHg", frozenset(), None, 2_000_000, "cuff@x")])
    recorder.write([Reading("spo2", 98, "%", frozenset(), None, 1_000_000, "cuff@x")])
    recorder.flush()
    follow = RecordedReadings(repository, session, ("nibp_systolic", "spo2"))
    assert [(r.metric, r.t_us) for r in follow()] == [("spo2", 1_000_000), ("nibp_systolic", 2_000_000)]
    recorder.write([Reading("nibp_systolic", None, "mmHg", frozenset({"invalid"}), None, 3_000_000, "cuff@x")])
    recorder.flush()
    later = follow()
    assert [r.t_us for r in later] == [1_000_000, 2_000_000, 3_000_000]
    assert later[-1].value is None and later[-1].flags == frozenset({"invalid"})
    assert repository.readings(session, ("spo2",), after_row=10**9) == []  # nothing new: nothing read
    recorder.stop()
    engine.dispose()

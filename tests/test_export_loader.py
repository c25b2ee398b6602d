"""load_session reads back exactly what the Recorder wrote: tracks as arrays, pleth as unbroken runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from export_session import (
    CUFF,
    DURATION_S,
    GAP,
    OXIMETER,
    PATIENT,
    PLETH_RATE,
    T0,
    RecordedSession,
    S,
    pleth_sample,
    record_session,
)
from sqlalchemy import Engine

from kapmonitor.core.errors import UserError
from kapmonitor.export.loader import SessionData, load_session
from kapmonitor.store.db import engine_for


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    return record_session(tmp_path_factory.mktemp("export-loader"))


@pytest.fixture
def engine(recorded: RecordedSession) -> Iterator[Engine]:
    engine = engine_for(recorded.url)
    yield engine
    engine.dispose()


@pytest.fixture
def data(recorded: RecordedSession, engine: Engine) -> SessionData:
    return recorded.load(engine)


def test_session_metadata_comes_from_the_session_row(data: SessionData) -> None:
    assert data.info.patient == PATIENT
    assert data.info.protocol == "Intranasal esketamine 56 mg"
    assert (data.info.start_us, data.info.end_us) == (T0 - S, T0 + DURATION_S * S)
    assert [d for d, _, _ in data.info.devices] == [OXIMETER, CUFF]


def test_numeric_tracks_hold_every_reading_with_missing_values_as_nan(data: SessionData) -> None:
    (spo2,) = data.numeric("spo2")
    recorded_seconds = DURATION_S - (GAP[1] - GAP[0])
    assert len(spo2) == recorded_seconds
    assert np.all(np.diff(spo2.t_us) > 0)
    missing = np.flatnonzero(np.isnan(spo2.values))
    assert spo2.t_us[missing].tolist() == [T0 + 1300 * S]
    assert spo2.flags[int(missing[0])] == "sensor_off"
    assert spo2.flags[int(np.searchsorted(spo2.t_us, T0 + 1200 * S))] == "artifact"
    assert not spo2.t_us.flags.writeable


def test_pleth_joins_into_two_runs_around_the_gap(data: SessionData) -> None:
    (pleth,) = data.waves
    runs = pleth.runs()
    assert len(runs) == 2
    assert runs[0].rate_hz == PLETH_RATE
    assert runs[0].end_us == pytest.approx(T0 + GAP[0] * S, abs=20_000)
    assert runs[1].start_us >= T0 + GAP[1] * S
    samples = np.concatenate([r.samples for r in runs])
    assert samples.tolist() == [pleth_sample(i) for i in range(len(samples))]


def test_link_events_and_alarms_are_carried(data: SessionData) -> None:
    assert [e.kind for e in data.link_events] == ["connected", "disconnected", "connected"]
    assert [a.state for a in data.alarms] == ["active", "cleared"]


def test_a_session_without_stored_clinical_entries_has_an_empty_record(
    recorded: RecordedSession, engine: Engine
) -> None:
    data = load_session(engine, recorded.session_id, record_loader=None)
    assert data.record.log == []
    assert data.alarms == ()


def test_without_waves_the_pleth_is_left_unread_and_the_rest_is_the_same(
    recorded: RecordedSession, engine: Engine, data: SessionData
) -> None:
    numerics_only = load_session(engine, recorded.session_id, waves=False)
    assert numerics_only.waves == ()
    assert [(t.device, t.metric, t.t_us.tolist()) for t in numerics_only.numerics] == [
        (t.device, t.metric, t.t_us.tolist()) for t in data.numerics
    ]
    assert numerics_only.info == data.info and numerics_only.link_events == data.link_events


def test_an_unknown_session_is_a_user_error(engine: Engine) -> None:
    with pytest.raises(UserError, match="no session 999"):
        load_session(engine, 999)


def test_session_data_is_frozen(data: SessionData, tmp_path: Path) -> None:
    with pytest.raises(AttributeError):
        data.info = None  # type: ignore[misc]

"""The clinical record in the database: written the moment it is entered, read back exactly, never changed."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, exc, func, inspect, select, text

from kapmonitor.core.errors import UserError
from kapmonitor.session.dosing import cumulative_dose_mg
from kapmonitor.session.entries import (
    US_PER_MIN,
    Addendum,
    Amendment,
    BodyWeight,
    BolusDose,
    Confirmation,
    Discharged,
    DoseOverride,
    Entry,
    InfusionEvent,
    IntranasalDevice,
    Note,
    Prescription,
    QuickEvent,
    Rating,
    SignOff,
)
from kapmonitor.session.templates import PROTOCOLS_DIR, ProtocolTemplate
from kapmonitor.session.timeline import EntryError, RecordSignedError
from kapmonitor.store.clinical_log import ClinicalLog, ClinicalRecordMismatch, ClinicalWriteError, session_record
from kapmonitor.store.db import alembic_config, engine_for, open_database, upgrade_engine
from kapmonitor.store.entry_codec import ENTRY_KINDS, entry_to_row, row_to_entry
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.signing import sign_session
from kapmonitor.store.tables import ClinicalEntryRow
from kapmonitor.store.users import UserDirectory

T0 = 1_800_000_000_000_000  # 2027-01-15, UTC microseconds
NURSE = "RN Okafor"
DOCTOR, DOCTOR_PASSWORD = "Dr Hale", "hale-password-1"


def sign_as_doctor(engine: Engine, session_id: int, minutes: float) -> None:
    """The session ends and Dr Hale, a clinician, signs it with her password typed again."""
    users = UserDirectory(engine)
    if DOCTOR not in {u.username for u in users.users()}:
        admin = users.create_first_admin("admin", "admin-password-1") if users.needs_first_admin() else None
        assert admin is not None
        users.add_user(admin, DOCTOR, "clinician", DOCTOR_PASSWORD)
    SessionRepository(engine).end_session(session_id)
    sign_session(
        engine,
        session_id,
        username=DOCTOR,
        password=DOCTOR_PASSWORD,
        entered_us=T0 + round(minutes * US_PER_MIN),
        users=users,
    )


def at(minutes: float) -> dict[str, Any]:
    """Who and when for an entry made live at ``minutes`` after T0."""
    t = T0 + round(minutes * US_PER_MIN)
    return {"t_us": t, "entered_us": t, "author": NURSE}


@pytest.fixture
def session_id(engine: Engine) -> int:
    return SessionRepository(engine).start_session("SIM-0001", "IV ketamine", room="2", nurse=NURSE)


def iv_template() -> ProtocolTemplate:
    return ProtocolTemplate.load(PROTOCOLS_DIR / "iv-infusion.toml")


def stored_rows(engine: Engine, session_id: int) -> list[Any]:
    table = ClinicalEntryRow.__table__
    with engine.connect() as conn:
        return conn.execute(select(table).where(table.c.session_id == session_id).order_by(table.c.seq)).all()


# One of every kind of entry, each with its optional fields set to something other than the default.
ONE_OF_EACH: list[Entry] = [
    BodyWeight(**at(0), kg=72.5),
    BolusDose(**at(1), mg=36.25, route="im", site="left deltoid", lot="K123", mg_per_kg=0.5),
    InfusionEvent(**at(2), action="start", rate=42.0, rate_unit="mL/h", concentration_mg_per_ml=1.0, lot="K9"),
    IntranasalDevice(**at(3), lot="ESK-0042", mg=28.0),
    DoseOverride(**at(4), reason="prescriber ordered 1.2 mg/kg", limit_mg_per_kg=1.0, projected_mg_per_kg=1.2),
    DoseOverride(**at(4), reason="third device ordered", limit_mg=56.0, projected_mg=84.0),
    Prescription(
        **at(4), drug="ketamine", route="iv", mg_per_kg=0.5, minutes=40, max_mg_per_kg=1.0, prescriber="Dr Hale"
    ),
    Prescription(**at(4), drug="esketamine", route="intranasal", mg=84.0, devices=3),
    Rating(**at(5), scale="cadss", values=(("1", 2), ("2", 0), ("6", 4)), score=6, form="cadss-6"),
    Rating(**at(5), scale="patient-vas", values=(("anxiety", 3),), score=None),
    Note(**at(6), text="Patient calm; eyeshades on. «Ünïcode» ✓"),
    QuickEvent(**at(7), code="emesis", label="Emesis"),
    Confirmation(**at(8), item="ride-home"),
    Discharged(**at(9)),
    Discharged(**at(9), override_reason="BP falling, escort present", open_items=("BP within limits: latest 168/95",)),
    Amendment(**at(10), original_ref=2, changes=(("mg", 35.0), ("site", "right deltoid")), reason="typo"),
    Amendment(**at(10), original_ref=8, changes=(("mg_per_kg", None),), reason="x", void=True),
    SignOff(**at(11)),
    Addendum(**at(12), text="Called next day: well.", refers_to=8),
    Addendum(**at(12), text="No concomitant sedatives."),
]


def test_the_examples_cover_every_kind_of_entry() -> None:
    assert {type(e) for e in ONE_OF_EACH} == set(ENTRY_KINDS.values())


@pytest.mark.parametrize("entry", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_an_entry_becomes_a_row_and_the_row_the_same_entry(entry: Entry) -> None:
    row = entry_to_row(entry)
    assert (row["t_us"], row["entered_us"], row["author"]) == (entry.t_us, entry.entered_us, entry.author)
    back = row_to_entry(row)
    assert back == entry and type(back) is type(entry)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
_time = st.integers(0, 2**62)
_number = st.floats(allow_nan=False, allow_infinity=False)
_common = {"t_us": _time, "entered_us": _time, "author": _text}
_change_value = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _number | _text


@st.composite
def any_entry(draw: st.DrawFn) -> Entry:
    cls = draw(st.sampled_from(list(ENTRY_KINDS.values())))
    special: dict[type, dict[str, st.SearchStrategy[Any]]] = {
        Rating: {"values": st.lists(st.tuples(_text, st.integers(-5, 92)), max_size=5).map(tuple)},
        Amendment: {"changes": st.lists(st.tuples(_text, _change_value), max_size=4).map(tuple)},
    }
    numbers = {name: _number for name in ("kg", "mg", "limit_mg_per_kg", "projected_mg_per_kg")}
    optional = ("rate", "weight_kg", "concentration_mg_per_ml", "mg_per_kg")
    floats = {**numbers, **{name: st.none() | _number for name in optional}}
    fields = {**{k: v for k, v in floats.items() if k in cls.__dataclass_fields__}, **special.get(cls, {})}
    return draw(st.builds(cls, **_common, **fields))


@settings(max_examples=100, deadline=None)
@given(any_entry())
def test_any_entry_survives_the_row_round_trip(entry: Entry) -> None:
    assert row_to_entry(entry_to_row(entry)) == entry


def test_a_row_of_an_unknown_kind_is_refused_in_words() -> None:
    row = {**entry_to_row(ONE_OF_EACH[0]), "kind": "telepathy"}
    with pytest.raises(ValueError, match="unknown kind 'telepathy'"):
        row_to_entry(row)


def full_record(log: ClinicalLog) -> None:
    """Every kind of entry through the record's own methods, as a nurse would make them."""
    log.add(BodyWeight(**at(0), kg=70.0))
    log.add(Rating(**at(1), scale="moaas", values=(("level", 5),), score=5))
    log.add(InfusionEvent(**at(5), action="start", rate=0.75, rate_unit="mg/kg/h", weight_kg=70.0))
    log.add(BolusDose(**at(10), mg=40.0, route="iv", lot="K55"))
    log.add(
        IntranasalDevice(**at(12), lot="ESK-1"),
        override=DoseOverride(**at(12), reason="prescriber: top-up", limit_mg_per_kg=1.0, projected_mg_per_kg=1.2),
    )
    note = log.add(Note(**at(15), text="Eyes closed, calm."))
    log.add(QuickEvent(**at(20), code="music-change", label="Music changed"))
    log.add(InfusionEvent(**at(45), action="stop", weight_kg=70.0))
    log.amend(
        note,
        {"text": "Eyes closed, calm, music on."},
        author="RN Diaz",
        reason="added detail",
        entered_us=T0 + 46 * US_PER_MIN,
    )
    log.add(Prescription(**at(91), drug="ketamine", route="iv", mg_per_kg=0.5, minutes=40, max_mg_per_kg=1.0))
    log.add(Confirmation(**at(90), item="ride-home"))
    discharged = log.add(Discharged(**at(95)))
    sign_as_doctor(log.engine, log.session_id, 100)
    log.add(Addendum(**at(120), text="Follow-up call: no complaints.", refers_to=discharged))


def test_every_kind_of_entry_round_trips_through_the_database(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id, iv_template())
    full_record(log)
    assert {type(e) for e in log.log} == set(ENTRY_KINDS.values())

    reloaded = ClinicalLog.load(engine, session_id)
    assert reloaded.log == log.log
    assert (reloaded.protocol, reloaded.max_mg_per_kg) == ("iv-infusion", 1.0)
    assert reloaded.current() == log.current()
    review = session_record(engine, session_id)
    assert type(review).__name__ == "SessionRecord" and review.log == log.log
    assert (review.protocol, review.max_mg_per_kg) == ("iv-infusion", 1.0)
    assert [r.seq for r in stored_rows(engine, session_id)] == list(range(1, len(log.log) + 1))


def test_an_entry_is_visible_to_another_connection_as_soon_as_add_returns(
    engine: Engine, db_url: str, session_id: int
) -> None:
    other = engine_for(db_url)  # a second workstation: its own engine, its own connections
    try:
        log = ClinicalLog(engine, session_id)
        ref = log.add(Note(**at(3), text="Patient arrived, consent signed."))
        assert session_record(other, session_id).log == [Note(**at(3), text="Patient arrived, consent signed.")]
        log.add(BodyWeight(**at(4), kg=81.0))
        assert session_record(other, session_id).weight_kg == 81.0
        assert ref == 1
    finally:
        other.dispose()


def test_an_amendment_leaves_the_original_row_untouched(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id)
    ref = log.add(BolusDose(**at(2), mg=50.0, route="im", site="left deltoid"))
    original_row = stored_rows(engine, session_id)[0]
    log.amend(ref, {"mg": 35.0}, author="RN Diaz", reason="50 was the vial size", entered_us=T0 + 9 * US_PER_MIN)

    rows = stored_rows(engine, session_id)
    assert rows[0] == original_row
    assert (rows[1].kind, rows[1].amends_seq) == ("amendment", ref)
    current = ClinicalLog.load(engine, session_id).current()
    assert len(current) == 1
    (dose,) = current
    assert dose.entry.mg == 35.0 and dose.original.mg == 50.0
    (why,) = dose.amendments
    assert (why.author, why.entered_us, why.reason) == ("RN Diaz", T0 + 9 * US_PER_MIN, "50 was the vial size")


def test_stored_entries_cannot_be_changed_or_deleted_behind_the_records_back(engine: Engine, session_id: int) -> None:
    ClinicalLog(engine, session_id).add(Note(**at(1), text="Original wording."))
    for statement in (
        "UPDATE clinical_entry SET author = 'someone else'",
        "DELETE FROM clinical_entry",
        "UPDATE clinical_record SET max_mg_per_kg = 99",
    ):
        with pytest.raises(exc.DatabaseError, match="never changed"), engine.begin() as conn:
            conn.execute(text(statement))
    assert session_record(engine, session_id).notes() == [Note(**at(1), text="Original wording.")]


def session_status(engine: Engine, session_id: int) -> str:
    return str(SessionRepository(engine).session_detail(session_id)["status"])


def test_after_sign_off_only_addenda_are_accepted_and_the_session_is_signed(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id)
    note = log.add(Note(**at(5), text="Resting comfortably."))
    assert session_status(engine, session_id) == "in_progress"
    sign_as_doctor(engine, session_id, 130)
    assert session_status(engine, session_id) == "signed"

    reopened = ClinicalLog.load(engine, session_id)
    with pytest.raises(RecordSignedError, match="signed by Dr Hale"):
        reopened.add(Note(**at(131), text="Forgot to say: snacks given."))
    with pytest.raises(RecordSignedError):
        reopened.amend(note, {"text": "x"}, author=NURSE, reason="late", entered_us=T0 + 131 * US_PER_MIN)
    reopened.add(Addendum(**at(131), text="Snacks given before discharge.", refers_to=note))
    assert len(stored_rows(engine, session_id)) == 3
    assert session_record(engine, session_id).log[-1] == Addendum(
        **at(131), text="Snacks given before discharge.", refers_to=note
    )
    SessionRepository(engine).end_session(session_id)  # the recorder stopping later does not unsign it
    assert session_status(engine, session_id) == "signed"


class FailingWrites:
    """Makes every INSERT into the clinical tables fail as a full disk would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self.refuse)

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.refuse)

    @staticmethod
    def refuse(conn: Any, cursor: Any, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO clinical_"):
            raise exc.OperationalError(statement, None, Exception("database or disk is full"))


def test_a_failed_write_is_a_user_error_and_the_record_stays_as_it_was(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id, iv_template())
    log.add(BodyWeight(**at(0), kg=70.0))
    before, current = list(log.log), log.current()
    big = BolusDose(**at(5), mg=80.0, route="iv")
    override = DoseOverride(**at(5), reason="prescriber", limit_mg_per_kg=1.0, projected_mg_per_kg=1.2)

    with FailingWrites(engine):
        with pytest.raises(ClinicalWriteError, match="DoseOverride and BolusDose were not saved.*full") as raised:
            log.add(big, override=override)
        assert isinstance(raised.value, UserError)
        with pytest.raises(UserError, match="Note was not saved"):
            log.add(Note(**at(6), text="Calm."))
    assert log.log == before and log.current() == current and log.signed is None
    assert session_record(engine, session_id).log == before
    assert session_status(engine, session_id) == "in_progress"

    assert log.add(big, override=override) == 3  # once the disk has room the same entry goes in, override first
    assert session_record(engine, session_id).log == [*before, override, big]


def test_a_refused_entry_writes_nothing(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id, iv_template())
    with pytest.raises(EntryError, match="record the patient's weight first"):
        log.add(BolusDose(**at(5), mg=30.0, route="iv"))
    assert log.log == [] and stored_rows(engine, session_id) == []


def test_the_iv_infusion_dose_is_the_same_after_reload(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id, iv_template())
    log.add(BodyWeight(**at(0), kg=80.0))
    pump = {"rate_unit": "mg/kg/h", "weight_kg": 80.0}
    log.add(InfusionEvent(**at(5), action="start", rate=0.75, **pump), until_us=T0 + 45 * US_PER_MIN)
    log.add(InfusionEvent(**at(15), action="rate", rate=0.6, **pump))  # 60 mg/h -> 48 mg/h
    log.add(InfusionEvent(**at(25), action="pause"))
    log.add(InfusionEvent(**at(30), action="resume"))
    log.add(InfusionEvent(**at(50), action="stop"))
    end = T0 + 60 * US_PER_MIN
    # 10 min at 60 mg/h + 10 min at 48 mg/h + 20 min at 48 mg/h
    expected = 10 + 8 + 16
    assert cumulative_dose_mg(log.doses(), end) == pytest.approx(expected)
    reloaded = ClinicalLog.load(engine, session_id)
    assert cumulative_dose_mg(reloaded.doses(), end) == cumulative_dose_mg(log.doses(), end)
    assert cumulative_dose_mg(session_record(engine, session_id).doses(), end) == pytest.approx(expected)


def test_a_reopened_record_continues_where_it_stopped(engine: Engine, session_id: int) -> None:
    ClinicalLog(engine, session_id, iv_template()).add(BodyWeight(**at(0), kg=70.0))
    again = ClinicalLog(engine, session_id, iv_template())  # the app restarted
    assert again.max_mg_per_kg == 1.0
    with pytest.raises(EntryError, match="exceeds the clinic maximum"):
        again.add(BolusDose(**at(5), mg=90.0, route="iv"))
    assert again.add(Note(**at(6), text="Restarted the workstation.")) == 2
    with pytest.raises(ClinicalRecordMismatch, match="follows protocol 'iv-infusion'"):
        ClinicalLog(engine, session_id, ProtocolTemplate.load(PROTOCOLS_DIR / "intranasal-esketamine.toml"))


def test_an_unknown_session_is_one_clear_line(engine: Engine) -> None:
    with pytest.raises(UserError, match="no session 99 in this database"):
        ClinicalLog(engine, 99)
    with pytest.raises(UserError, match="no session 99"):
        session_record(engine, 99)


def test_a_session_without_clinical_entries_reads_as_an_empty_record(engine: Engine, session_id: int) -> None:
    record = session_record(engine, session_id)
    assert record.log == [] and record.protocol == "" and record.max_mg_per_kg is None
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ClinicalEntryRow.__table__)).scalar() == 0


def test_stopping_an_infusion_past_the_maximum_is_always_recorded(engine: Engine, session_id: int) -> None:
    """The pump is stopped because the dose is high: refusing to record the stop would hide it."""
    log = ClinicalLog(engine, session_id, iv_template())
    log.add(BodyWeight(**at(0), kg=60.0))
    log.add(InfusionEvent(**at(5), action="start", rate=1.5, rate_unit="mg/kg/h", weight_kg=60.0))
    log.add(InfusionEvent(**at(55), action="pause"))  # 1.25 mg/kg given by now, above the 1 mg/kg maximum
    log.add(InfusionEvent(**at(60), action="stop"))
    assert [e.action for e in session_record(engine, session_id).current_of(InfusionEvent)] == [
        "start",
        "pause",
        "stop",
    ]
    with pytest.raises(EntryError, match="exceeds the clinic maximum"):
        log.add(InfusionEvent(**at(61), action="start", rate=1.0, rate_unit="mg/kg/h", weight_kg=60.0))


def test_migration_0002_adds_the_clinical_tables_and_takes_them_away_again(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        assert {"clinical_entry", "clinical_record"} <= set(inspect(engine).get_table_names())
        command.downgrade(alembic_config(engine), "0001")
        assert not {"clinical_entry", "clinical_record"} & set(inspect(engine).get_table_names())
        upgrade_engine(engine)
        assert {"clinical_entry", "clinical_record"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_two_workstations_on_one_record_each_take_in_what_the_other_stored(engine: Engine, session_id: int) -> None:
    bedside, desk = ClinicalLog(engine, session_id), ClinicalLog(engine, session_id)
    bedside.add(Note(**at(1), text="From the bedside."))
    assert desk.add(Note(**at(2), text="From the desk.")) == 2
    assert [n.text for n in desk.notes()] == ["From the bedside.", "From the desk."]
    assert [r.seq for r in stored_rows(engine, session_id)] == [1, 2]


def test_a_bed_whose_record_was_signed_elsewhere_is_refused_in_words_before_anything_is_written(
    engine: Engine, session_id: int
) -> None:
    bedside = ClinicalLog(engine, session_id)
    bedside.add(Note(**at(1), text="Resting."))
    sign_as_doctor(engine, session_id, 130)
    with pytest.raises(RecordSignedError, match="signed by Dr Hale.*addendum"):
        bedside.add(Note(**at(131), text="Snacks given."))
    assert len(stored_rows(engine, session_id)) == 2  # the note and the sign-off, nothing half-way


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"seq": 1, "kind": "telepathy", "fields": "{}"}, "a stored entry has the unknown kind 'telepathy'"),
        ({"seq": 1, "kind": "note", "fields": "{not json"}, "a stored note entry cannot be read"),
        ({"seq": 2, "kind": "note", "fields": '{"text": "x"}'}, "entry 1 is missing"),
    ],
)
def test_a_damaged_record_is_reported_not_guessed_at(
    engine: Engine, session_id: int, row: dict[str, Any], message: str
) -> None:
    who = {"session_id": session_id, "t_us": T0, "entered_us": T0, "author": NURSE}
    with engine.begin() as conn:
        conn.execute(ClinicalEntryRow.__table__.insert().values(**who, **row))
    with pytest.raises(UserError, match=f"session {session_id}'s clinical record: {message}"):
        session_record(engine, session_id)

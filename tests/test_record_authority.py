"""Who may sign a record and when, and a discharge that goes ahead with items open: checked below the UI."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from kapmonitor.core.errors import UserError
from kapmonitor.session.discharge import CriterionStatus, DischargeRefused, DischargeStatus, record_discharge
from kapmonitor.session.entries import US_PER_MIN, Discharged, Note, SignOff
from kapmonitor.session.templates import DischargeCriterion
from kapmonitor.session.timeline import EntryError
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.clinical_log import ClinicalLog, session_record, session_status
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.signing import SignOffRefused, sign_session
from kapmonitor.store.users import User, UserDirectory, clinic_user

T0 = 1_800_000_000_000_000


def at(minutes: float, author: str = "nina") -> dict[str, Any]:
    t = T0 + round(minutes * US_PER_MIN)
    return {"t_us": t, "entered_us": t, "author": author}


@pytest.fixture
def users(engine: Engine) -> UserDirectory:
    directory = UserDirectory(engine)
    admin = directory.create_first_admin("admin", "admin-password")
    directory.add_user(admin, "nina", "nurse", "nina-password")
    directory.add_user(admin, "dr.lee", "clinician", "lee-password")
    return directory


@pytest.fixture
def session_id(engine: Engine) -> int:
    session = SessionRepository(engine).start_session("KAP-0042", "intranasal-esketamine", nurse="nina")
    ClinicalLog(engine, session).add(Note(**at(1), text="Calm, eyeshades on."))
    return session


def sign(engine: Engine, session: int, users: UserDirectory, who: str, password: str) -> SignOff:
    return sign_session(engine, session, username=who, password=password, entered_us=T0 + 150 * US_PER_MIN, users=users)


def test_a_clinician_signs_an_ended_session_under_her_own_name(
    engine: Engine, users: UserDirectory, session_id: int
) -> None:
    SessionRepository(engine).end_session(session_id)
    signed = sign(engine, session_id, users, "dr.lee", "lee-password")
    assert signed.author == "dr.lee"
    assert session_record(engine, session_id).signed == signed
    assert session_status(engine, session_id) == "signed"


def test_a_nurse_cannot_sign(engine: Engine, users: UserDirectory, session_id: int) -> None:
    SessionRepository(engine).end_session(session_id)
    with pytest.raises(UserError, match="nina may not do this.*session.sign.*clinician"):
        sign(engine, session_id, users, "nina", "nina-password")
    assert session_record(engine, session_id).signed is None
    assert session_status(engine, session_id) == "ended"
    refused = AuditTrail(engine).entries()[-1]
    assert (refused.user, refused.action) == ("nina", "session.sign_refused")


def test_a_live_session_cannot_be_signed(engine: Engine, users: UserDirectory, session_id: int) -> None:
    with pytest.raises(SignOffRefused, match="still in progress: it can be signed once it has ended"):
        sign(engine, session_id, users, "dr.lee", "lee-password")
    assert session_status(engine, session_id) == "in_progress"
    ClinicalLog(engine, session_id).add(Note(**at(2), text="The bed goes on recording."))


def test_a_wrong_password_signs_nothing(engine: Engine, users: UserDirectory, session_id: int) -> None:
    SessionRepository(engine).end_session(session_id)
    with pytest.raises(UserError, match="wrong user name or password"):
        sign(engine, session_id, users, "dr.lee", "not-her-password")
    assert session_record(engine, session_id).signed is None


def test_nobody_signs_through_the_record_for_someone_else(engine: Engine, session_id: int) -> None:
    SessionRepository(engine).end_session(session_id)
    log = ClinicalLog(engine, session_id)
    with pytest.raises(EntryError, match="sign_session"):
        log.sign_off(author="dr.lee", entered_us=T0)
    with pytest.raises(EntryError, match="sign_session"):
        log.add(SignOff(**at(150, "dr.lee")))
    assert session_status(engine, session_id) == "ended"


def test_a_signed_record_takes_audited_addenda_only(engine: Engine, users: UserDirectory, session_id: int) -> None:
    from kapmonitor.session.entries import Addendum

    SessionRepository(engine).end_session(session_id)
    sign(engine, session_id, users, "dr.lee", "lee-password")
    log = ClinicalLog(engine, session_id)
    with pytest.raises(EntryError, match="signed by dr.lee.*addendum"):
        log.add(Note(**at(160), text="late note"))
    log.add(Addendum(**at(160, "dr.lee"), text="Called next day: well.", refers_to=1))
    last = AuditTrail(engine).entries()[-1]
    assert (last.user, last.action) == ("dr.lee", "clinical.addendum")


OPEN = DischargeStatus(
    (
        CriterionStatus(
            DischargeCriterion("minimum-time", "At least 2 h since the first spray"), True, T0, "time is up"
        ),
        CriterionStatus(DischargeCriterion("bp", "BP within limits or falling"), False, None, "latest 168/96"),
        CriterionStatus(DischargeCriterion("confirm", "Ride home confirmed", key="ride-home"), False, None, "not yet"),
    )
)
NURSE = User("nina", frozenset({"nurse"}))
CLINICIAN = User("dr.lee", frozenset({"clinician"}))


def test_discharge_with_open_items_asks_for_a_reason(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id)
    with pytest.raises(DischargeRefused, match="not ready: 2 open .*needs a reason"):
        record_discharge(log, OPEN, user=CLINICIAN, t_us=T0, entered_us=T0)
    assert session_record(engine, session_id).discharged_us() is None


def test_discharge_with_open_items_stores_who_why_and_what_was_open(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id)
    t = T0 + 140 * US_PER_MIN
    record_discharge(log, OPEN, user=CLINICIAN, t_us=t, entered_us=t, reason="BP falling; partner driving")
    (stored,) = session_record(engine, session_id).current_of(Discharged)
    assert stored.author == "dr.lee"
    assert stored.override_reason == "BP falling; partner driving"
    assert stored.open_items == ("BP within limits or falling: latest 168/96", "Ride home confirmed: not yet")


def test_a_nurse_overrides_the_checklist_only_when_the_clinic_grants_it(engine: Engine, session_id: int) -> None:
    log = ClinicalLog(engine, session_id)
    plain_nurse = clinic_user("nina", frozenset({"nurse"}), grants={})
    with pytest.raises(DischargeRefused, match="nina may not record a discharge with open items"):
        record_discharge(log, OPEN, user=plain_nurse, t_us=T0, entered_us=T0, reason="escort here")
    trusted_nurse = clinic_user("nina", frozenset({"nurse"}), grants={"nurse": frozenset({"discharge.override"})})
    record_discharge(log, OPEN, user=trusted_nurse, t_us=T0, entered_us=T0, reason="escort here")
    assert session_record(engine, session_id).discharged_us() == T0


def test_a_complete_checklist_discharges_without_a_reason(engine: Engine, session_id: int) -> None:
    ready = DischargeStatus(OPEN.items[:1])
    entry = record_discharge(ClinicalLog(engine, session_id), ready, user=NURSE, t_us=T0, entered_us=T0)
    assert entry.open_items == () and entry.override_reason == ""


def test_a_discharge_without_a_reason_cannot_be_slipped_past_the_record(engine: Engine, session_id: int) -> None:
    sneaky = Discharged(**at(140), open_items=("Ride home confirmed: not yet",))
    with pytest.raises(EntryError, match="needs a reason"):
        ClinicalLog(engine, session_id).add(sneaky)

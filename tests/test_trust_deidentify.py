"""De-identified copies: no names or birth dates, a salted pseudonym, and every date shifted by one per-patient
offset, so intervals and order survive exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.store.deidentify import FREE_TEXT_WITHHELD, deidentify, pseudonym, shift_for

SALT = "clinic-research-2026"
T0 = 1_763_700_000_000_000  # 2025-11-21 04:40 UTC
DAY_US = 86_400_000_000


def session(code: str = "P-0042", name: str = "Jane Q Doe") -> dict:
    return {
        "id": 7,
        "patient": {"code": code, "name": name, "date_of_birth": "1980-04-02", "weight_kg": 71.5},
        "protocol": "IV ketamine",
        "nurse": "R. Okafor",
        "start": "2025-11-21T09:40:00.000+01:00",
        "end": "2025-11-21T11:10:00.000+01:00",
        "start_us": T0,
        "entries": [
            {
                "kind": "dose",
                "t_us": T0 + 60_000_000,
                "entered_us": T0 + 90_000_000,
                "mg": 35.0,
                "duration_us": 600_000_000,
            },
            {"kind": "note", "t_us": T0 + 120_000_000, "text": "Jane feels calm; Doe family present"},
        ],
        "tracks": [{"metric": "spo2", "first": "2025-11-21T09:40:01.000+01:00", "samples": 5400}],
        "link_events": [
            {"kind": "session_interrupted", "detail": "nothing recorded from 2025-11-21T10:02:03.000+01:00"}
        ],
        "signed_on": date(2025, 11, 21),
        "signed_at": datetime(2025, 11, 21, 10, 15, tzinfo=UTC),
    }


def test_names_and_birth_dates_are_removed_and_the_code_becomes_a_salted_hash() -> None:
    out = deidentify(session(), salt=SALT)
    assert out["patient"] == {"code": pseudonym("P-0042", SALT), "weight_kg": 71.5}
    assert out["patient"]["code"].startswith("anon-") and "P-0042" not in str(out)
    assert "Jane" not in str(out) and "1980" not in str(out)
    assert pseudonym("P-0042", SALT) != pseudonym("P-0042", "another-secret-salt")
    assert out["nurse"] == "R. Okafor" and out["protocol"] == "IV ketamine"  # staff and clinic data stay


def test_every_date_and_time_moves_by_the_same_whole_days_so_intervals_stay_exact() -> None:
    shift = shift_for("P-0042", SALT)
    assert -365 <= shift.days <= -1
    out = deidentify(session(), salt=SALT)
    day = (date(2025, 11, 21) + shift).isoformat()
    assert out["start"] == f"{day}T09:40:00.000+01:00" and out["end"] == f"{day}T11:10:00.000+01:00"
    assert out["tracks"][0]["first"] == f"{day}T09:40:01.000+01:00"
    assert out["link_events"][0]["detail"] == f"nothing recorded from {day}T10:02:03.000+01:00"
    assert out["start_us"] == T0 + shift.days * DAY_US
    dose, note = out["entries"]
    assert dose["t_us"] - out["start_us"] == 60_000_000 and dose["entered_us"] - dose["t_us"] == 30_000_000
    assert dose["duration_us"] == 600_000_000  # a duration, not a time: unchanged
    assert note["t_us"] == T0 + 120_000_000 + shift.days * DAY_US
    assert out["signed_on"] == date(2025, 11, 21) + shift
    assert out["signed_at"] == datetime(2025, 11, 21, 10, 15, tzinfo=UTC) + shift


def test_free_text_is_withheld_unless_asked_for_and_then_loses_the_patients_name() -> None:
    assert deidentify(session(), salt=SALT)["entries"][1]["text"] == FREE_TEXT_WITHHELD
    record = session()
    record["entries"][1]["text"] = "Jane feels calm; Doe family present since 2025-11-20"
    kept = deidentify(record, salt=SALT, keep_free_text=True)["entries"][1]["text"]
    day_before = (date(2025, 11, 20) + shift_for("P-0042", SALT)).isoformat()
    assert kept == f"[name] feels calm; [name] family present since {day_before}"


def test_each_patient_has_their_own_consistent_shift_and_a_fixed_shift_overrides_it() -> None:
    sessions = [session("P-1"), session("P-2"), session("P-1")]
    out = deidentify(sessions, salt=SALT)
    assert out[0] == out[2]
    assert out[0]["start_us"] - T0 == shift_for("P-1", SALT).days * DAY_US
    assert out[1]["start_us"] - T0 == shift_for("P-2", SALT).days * DAY_US
    fixed = deidentify(sessions, salt=SALT, shift_days=-30)
    assert {s["start_us"] for s in fixed} == {T0 - 30 * DAY_US}


def test_sessions_list_shape_with_a_code_string_and_dataclass_records() -> None:
    @dataclass(frozen=True)
    class Dose:
        t_us: int
        mg: float

    listing = {"patient": "SIM-0001", "start": "2025-11-21", "doses": [Dose(T0, 20.0)]}
    out = deidentify(listing, salt=SALT, shift_days=-10)
    assert out == {
        "patient": pseudonym("SIM-0001", SALT),
        "start": "2025-11-11",
        "doses": [{"t_us": T0 - 10 * DAY_US, "mg": 20.0}],
    }
    assert listing["patient"] == "SIM-0001"  # the input is not changed


def test_a_short_salt_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        deidentify(session(), salt="abc")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=10 * DAY_US), min_size=2, max_size=20),
    st.text(min_size=1, max_size=12),
)
def test_order_and_intervals_of_times_survive_for_any_patient(offsets: list[int], code: str) -> None:
    record = {"patient": code, "events": [{"t_us": T0 + o} for o in offsets]}
    out = deidentify(record, salt=SALT)
    moved = [e["t_us"] for e in out["events"]]
    assert [b - a for a, b in zip(moved, moved[1:], strict=False)] == [
        b - a for a, b in zip(offsets, offsets[1:], strict=False)
    ]
    assert moved[0] - (T0 + offsets[0]) == shift_for(code, SALT) // timedelta(microseconds=1)

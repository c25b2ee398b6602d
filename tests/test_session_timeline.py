"""The session record: time order, back-timed quick events, amendments that keep the original, sign-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.session.datafile import DataFileError
from kapmonitor.session.entries import Addendum, BodyWeight, BolusDose, Entry, InfusionEvent, Note, QuickEvent
from kapmonitor.session.quick_events import QuickEventMap, builtin_quick_events
from kapmonitor.session.timeline import EntryError, RecordSignedError, SessionRecord

T0 = 1_700_000_000_000_000
MIN = 60_000_000


def at(minutes: float) -> int:
    return T0 + round(minutes * MIN)


def note(minute: float, text: str, entered: float | None = None) -> Note:
    return Note(
        t_us=at(minute), entered_us=at(minute if entered is None else entered), author="rn", text=text
    )


def test_entries_are_shown_in_time_order_whatever_order_they_were_entered() -> None:
    record = SessionRecord()
    record.add(note(10, "second"))
    record.add(note(5, "first, back-timed", entered=11))
    record.add(note(20, "third"))
    assert [c.entry.text for c in record.current()] == ["first, back-timed", "second", "third"]  # type: ignore[union-attr]
    assert [c.ref for c in record.current()] == [2, 1, 3]


def test_number_keys_log_the_clinics_quick_events_back_timed_too() -> None:
    keys = builtin_quick_events()
    assert {b.code for b in keys.bindings} >= {"emesis", "music-change", "patient-speaking", "eyeshades-off"}
    record = SessionRecord()
    record.add(keys.event("1", t_us=at(30), entered_us=at(32), author="rn"))
    event = record.quick_events()[0]
    assert (event.code, event.t_us, event.entered_us) == ("emesis", at(30), at(32))
    with pytest.raises(KeyError, match="no quick event is bound to key 'x'"):
        keys.event("x", t_us=at(1), entered_us=at(1), author="rn")


def test_entries_cannot_be_timed_in_the_future_or_be_anonymous() -> None:
    record = SessionRecord()
    with pytest.raises(EntryError, match="back-timed, not forward-timed"):
        record.add(note(10, "later", entered=5))
    with pytest.raises(EntryError, match="needs an author"):
        record.add(Note(t_us=at(1), entered_us=at(1), author=" ", text="x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[event]]\nkey = 11\ncode = "a"\nlabel = "A"\n', "'key' must be one of the digits 0-9"),
        (
            '[[event]]\nkey = 1\ncode = "a"\nlabel = "A"\n[[event]]\nkey = 1\ncode = "b"\nlabel = "B"\n',
            "[event #2] key 1 is already bound",
        ),
        ('[[event]]\nkey = 2\ncode = "a"\n', "[event #1] is missing 'label'"),
        ("", "defines no [[event]]"),
    ],
)
def test_a_bad_quick_event_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "quick.toml"
    path.write_text(text)
    with pytest.raises(DataFileError) as err:
        QuickEventMap.load(path)
    assert message in str(err.value)


def test_an_amendment_changes_the_current_view_and_keeps_the_original() -> None:
    record = SessionRecord()
    dose = BolusDose(t_us=at(0), entered_us=at(0), author="rn", mg=50, route="im", site="left deltoid")
    ref = record.add(dose)
    record.amend(
        ref,
        {"mg": 40.0, "t_us": at(-2)},
        author="rn2",
        reason="drew up 40 mg; given 2 min earlier",
        entered_us=at(15),
    )
    assert record.entry_at(ref) == dose  # the original is untouched
    (current,) = record.current()
    assert current.entry.mg == 40.0 and current.entry.t_us == at(-2)  # type: ignore[union-attr]
    assert current.original.mg == 50  # type: ignore[union-attr]
    assert current.amendments[0].author == "rn2" and current.amendments[0].reason.startswith("drew up")
    assert record.first_dose_us() == at(-2)
    record.amend(ref, {"site": "right deltoid"}, author="rn", reason="wrong side", entered_us=at(16))
    assert record.doses()[0] == BolusDose(
        t_us=at(-2), entered_us=at(0), author="rn", mg=40.0, route="im", site="right deltoid"
    )
    assert len(record.log) == 3


def test_a_voided_entry_leaves_the_current_view_but_not_the_log() -> None:
    record = SessionRecord()
    ref = record.add(QuickEvent(t_us=at(3), entered_us=at(3), author="rn", code="emesis", label="Emesis"))
    record.amend(ref, {}, author="rn", reason="pressed the wrong key", entered_us=at(4), void=True)
    assert record.quick_events() == []
    assert record.current()[0].void and isinstance(record.entry_at(ref), QuickEvent)


@pytest.mark.parametrize(
    ("changes", "reason", "message"),
    [
        ({"dose": 3}, "typo", "Note has no field 'dose'"),
        ({"author": "someone else"}, "typo", "'author' records who entered what and when"),
        ({"text": "x"}, "", "needs a reason"),
        ({}, "nothing", "must change something or void"),
        ({"text": 5}, "typo", "Note.text holds str, not 5"),
        ({"t_us": None}, "typo", "Note.t_us holds int, not None"),
    ],
)
def test_bad_amendments_are_refused(changes: dict[str, object], reason: str, message: str) -> None:
    record = SessionRecord()
    record.add(note(0, "hello"))
    with pytest.raises(EntryError, match=message):
        record.amend(1, changes, author="rn", reason=reason, entered_us=at(1))
    with pytest.raises(EntryError, match="there is no entry 7"):
        record.amend(7, {"text": "x"}, author="rn", reason="r", entered_us=at(1))


def test_a_rating_is_corrected_by_voiding_and_re_entering_it() -> None:
    from kapmonitor.session.scales import builtin_scales

    moaas = builtin_scales()["moaas"]
    record = SessionRecord()
    ref = record.add(moaas.rate(2, t_us=at(15), entered_us=at(15), author="rn"))
    with pytest.raises(EntryError, match="void it and enter the rating again"):
        record.amend(ref, {"score": 4}, author="rn", reason="misheard", entered_us=at(16))
    record.amend(ref, {"t_us": at(14)}, author="rn", reason="rated a minute earlier", entered_us=at(16))
    record.amend(ref, {}, author="rn", reason="misheard", entered_us=at(16), void=True)
    record.add(moaas.rate(4, t_us=at(15), entered_us=at(16), author="rn"))
    assert [r.score for r in record.ratings("moaas")] == [4]


def test_an_amendment_that_breaks_the_infusion_sequence_is_refused() -> None:
    record = SessionRecord()
    common = {"author": "rn", "weight_kg": 70.0, "concentration_mg_per_ml": 1.0}
    record.add(InfusionEvent(t_us=at(0), entered_us=at(0), action="start", rate=0.75, **common))  # type: ignore[arg-type]
    stop = record.add(InfusionEvent(t_us=at(40), entered_us=at(40), action="stop", **common))  # type: ignore[arg-type]
    with pytest.raises(EntryError, match="stop at .* while the infusion is idle"):
        record.amend(stop, {"t_us": at(-5)}, author="rn", reason="time", entered_us=at(41))
    with pytest.raises(EntryError, match="resume at .* while the infusion is stopped"):
        record.add(InfusionEvent(t_us=at(45), entered_us=at(45), action="resume", **common))  # type: ignore[arg-type]


def test_after_sign_off_only_addenda() -> None:
    record = SessionRecord()
    ref = record.add(note(0, "calm session"))
    with pytest.raises(EntryError, match="addenda are for signed records"):
        record.add(Addendum(t_us=at(1), entered_us=at(1), author="md", text="early"))
    record.sign_off(author="dr lee", entered_us=at(130))
    assert record.signed is not None and record.signed.author == "dr lee"
    with pytest.raises(RecordSignedError, match="signed by dr lee .* add an addendum instead"):
        record.add(note(131, "one more thing"))
    with pytest.raises(RecordSignedError):
        record.amend(ref, {"text": "changed"}, author="rn", reason="r", entered_us=at(131))
    with pytest.raises(RecordSignedError):
        record.sign_off(author="dr lee", entered_us=at(132))
    record.add(
        Addendum(
            t_us=at(140), entered_us=at(140), author="dr lee", text="called patient: well", refers_to=ref
        )
    )
    assert [type(c.entry).__name__ for c in record.current()] == ["Note", "SignOff", "Addendum"]
    assert record.current_of(Note)[0].text == "calm session"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (BolusDose(t_us=at(0), entered_us=at(0), author="rn", mg=0, route="im"), "a dose must be above zero"),
        (BodyWeight(t_us=at(0), entered_us=at(0), author="rn", kg=700), "700 kg is outside 2-400 kg"),
        (Note(t_us=at(0), entered_us=at(0), author="rn", text="  "), "an empty note"),
    ],
)
def test_impossible_values_are_refused(entry: Entry, message: str) -> None:
    with pytest.raises(EntryError, match=message):
        SessionRecord().add(entry)


def test_a_record_for_a_template_checks_its_maximum() -> None:
    from kapmonitor.session.templates import builtin_templates

    record = SessionRecord.for_template(builtin_templates()["im-ketamine"])
    assert (record.protocol, record.max_mg_per_kg) == ("im-ketamine", 1.5)
    record.add(BodyWeight(t_us=at(0), entered_us=at(0), author="rn", kg=60.0))
    record.add(BolusDose(t_us=at(1), entered_us=at(1), author="rn", mg=45, route="im", mg_per_kg=0.75))
    with pytest.raises(EntryError, match="1.67 mg/kg exceeds the clinic maximum of 1.5 mg/kg"):
        record.add(BolusDose(t_us=at(30), entered_us=at(30), author="rn", mg=55, route="im"))

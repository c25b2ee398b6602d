"""Each protocol's checks come due (and overdue) at the right times; the intranasal rest timer."""

from __future__ import annotations

import pytest

from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import InfusionEvent, IntranasalDevice, Rating
from kapmonitor.session.prompts import due_checks, next_check, prompts_for, rest_timer
from kapmonitor.session.scales import builtin_scales
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord

T0 = 1_700_000_000_000_000
MIN = 60_000_000
TEMPLATES = builtin_templates()
SCALES = builtin_scales()


def at(minutes: float) -> int:
    return T0 + round(minutes * MIN)


def moaas(minute: float, value: int = 5) -> Rating:
    return SCALES["moaas"].rate(value, t_us=at(minute), entered_us=at(minute), author="rn")


def texts(
    template: str,
    now: float,
    *,
    first: float | None = 0,
    bp: tuple[float, ...] = (),
    ratings: tuple[Rating, ...] = (),
    infusion: tuple[InfusionEvent, ...] = (),
    discharged: float | None = None,
) -> list[str]:
    prompts = due_checks(
        TEMPLATES[template],
        session_start_us=at(-15),
        first_dose_us=None if first is None else at(first),
        bp_times_us=[at(m) for m in bp],
        ratings=ratings,
        now_us=at(now),
        infusion=infusion,
        discharged_us=None if discharged is None else at(discharged),
    )
    return [p.text for p in prompts]


IV_INFUSION = (
    InfusionEvent(t_us=at(0), entered_us=at(0), author="rn", action="start", rate=0.75, weight_kg=80.0),
    InfusionEvent(t_us=at(40), entered_us=at(40), author="rn", action="stop"),
)
IV_BP = (-3, 10, 20, 30)


@pytest.mark.parametrize(
    ("now", "bp", "expected"),
    [
        (-5, (), ["BP due (pre-dose)"]),
        (-1, (-3,), []),
        (9, (-3,), []),
        (10, (-3,), ["BP due (every 10 min during the infusion)"]),
        (16, (-3,), ["BP overdue (every 10 min during the infusion)", "MOAA/S due"]),
        (19, (-3, 10), ["MOAA/S due"]),
        (36, IV_BP, ["MOAA/S overdue", "CADSS at ~40 min due"]),
        (41, IV_BP, ["MOAA/S overdue", "CADSS at ~40 min due"]),
        (
            55,
            IV_BP,
            ["MOAA/S overdue", "CADSS at ~40 min overdue", "BP due (every 15 min after the infusion)"],
        ),
        (61, (*IV_BP, 55), ["MOAA/S overdue", "CADSS at ~40 min overdue"]),
        (
            70,
            (*IV_BP, 55),
            [
                "MOAA/S overdue",
                "CADSS at ~40 min overdue",
                "CADSS due (end of session)",
                "BP due (every 15 min after the infusion)",
            ],
        ),
    ],
)
def test_iv_infusion_prompts(now: float, bp: tuple[float, ...], expected: list[str]) -> None:
    first = 0 if now >= 0 else None
    infusion = tuple(e for e in IV_INFUSION if e.t_us <= at(now))
    assert texts("iv-infusion", now, first=first, bp=bp, infusion=infusion) == expected


def test_iv_prompts_follow_the_ratings_given() -> None:
    ratings = (moaas(15), moaas(30))
    assert texts("iv-infusion", 44, bp=IV_BP + (40,), ratings=ratings, infusion=IV_INFUSION) == [
        "CADSS at ~40 min due"
    ]
    assert texts("iv-infusion", 45, bp=IV_BP + (40,), ratings=ratings, infusion=IV_INFUSION) == [
        "CADSS at ~40 min due",
        "MOAA/S due",
    ]


@pytest.mark.parametrize(
    ("now", "bp", "ratings", "expected"),
    [
        (-10, (), (), ["BP due (pre-dose)"]),
        (1, (), (), ["BP missed (pre-dose)"]),
        (34, (-5,), (moaas(15), moaas(30)), []),
        (35, (-5,), (moaas(15), moaas(30)), ["BP at ~40 min due", "CADSS at ~40 min due"]),
        (42, (-5, 41), (moaas(15), moaas(30)), ["CADSS at ~40 min due"]),
        (51, (-5,), (moaas(15), moaas(30), moaas(45)), ["BP at ~40 min overdue", "CADSS at ~40 min overdue"]),
        (15, (-5,), (), ["MOAA/S due"]),
        (20, (-5,), (), ["MOAA/S overdue"]),
        (104, (-5, 41, 100), (moaas(90), moaas(100)), ["CADSS at ~40 min overdue"]),
        (
            105,
            (-5, 41, 100),
            (moaas(90), moaas(100)),
            ["CADSS at ~40 min overdue", "BP due (before discharge)", "CADSS due (end of session)"],
        ),
        (
            106,
            (-5, 41, 100, 106),
            (moaas(90), moaas(100)),
            ["CADSS at ~40 min overdue", "CADSS due (end of session)"],
        ),
    ],
)
def test_esketamine_prompts(
    now: float, bp: tuple[float, ...], ratings: tuple[Rating, ...], expected: list[str]
) -> None:
    first = 0 if now >= 0 else None
    assert texts("intranasal-esketamine", now, first=first, bp=bp, ratings=ratings) == expected


def test_a_cadss_short_form_satisfies_a_cadss_check() -> None:
    short = SCALES["cadss"].rate(
        {k: 0 for k in ("1", "2", "6", "7", "15", "22")},
        form="cadss-6",
        t_us=at(38),
        entered_us=at(38),
        author="rn",
    )
    assert texts("intranasal-esketamine", 42, bp=(-5, 41), ratings=(moaas(15), moaas(30), short)) == []


@pytest.mark.parametrize("template", ["im-ketamine", "sublingual"])
def test_bolus_protocols_prompt_bp_and_moaas_every_15_min(template: str) -> None:
    assert texts(template, -1, first=None) == ["BP due (pre-dose)"]
    assert texts(template, 14, bp=(-2,)) == []
    assert texts(template, 15, bp=(-2,)) == ["BP due (every 15 min)", "MOAA/S due"]
    assert texts(template, 29, bp=(-2, 15), ratings=(moaas(15),)) == []


def coming(template: str, now: float, *, bp: tuple[float, ...] = (), ratings: tuple[Rating, ...] = ()) -> object:
    ahead = next_check(
        TEMPLATES[template], session_start_us=at(-15), first_dose_us=at(0), bp_times_us=[at(m) for m in bp],
        ratings=ratings, now_us=at(now),
    )
    return None if ahead is None else (ahead.check.text, (ahead.due_us - T0) / MIN)


def test_while_nothing_is_due_the_next_check_and_when_it_falls_due() -> None:
    assert coming("im-ketamine", 5, bp=(-2,)) == ("BP due (every 15 min)", 15)
    assert coming("im-ketamine", 20, bp=(-2, 16), ratings=(moaas(15),)) == ("MOAA/S due", 30)
    assert coming("im-ketamine", 20, bp=(-2, 16, 19), ratings=(moaas(18),)) == ("MOAA/S due", 33)


def test_nothing_is_prompted_after_discharge() -> None:
    assert texts("intranasal-esketamine", 130, bp=(-5,), discharged=125) == []


def spray(minute: float, lot: str) -> IntranasalDevice:
    return IntranasalDevice(t_us=at(minute), entered_us=at(minute), author="rn", lot=lot)


def test_the_rest_timer_between_intranasal_devices() -> None:
    esk = TEMPLATES["intranasal-esketamine"]
    assert rest_timer(esk, [], at(0)) is None
    timer = rest_timer(esk, [spray(0, "A1")], at(2))
    assert timer is not None and timer.resting
    assert (timer.remaining_us, timer.ready_at_us, timer.devices_given, timer.mg_given) == (
        3 * MIN,
        at(5),
        1,
        28.0,
    )
    timer = rest_timer(esk, [spray(0, "A1"), spray(5, "B2")], at(10.5))
    assert timer is not None and not timer.resting and timer.mg_given == 56.0
    assert rest_timer(TEMPLATES["iv-infusion"], [spray(0, "A1")], at(1)) is None


def test_prompts_from_a_record_and_recorded_readings() -> None:
    record = SessionRecord("intranasal-esketamine")
    record.add(spray(0, "A1"))
    readings = [
        Reading("nibp_systolic", 128, "mmHg", t_us=at(-5), device="suntech-advantage@sim"),
        Reading("nibp_systolic", None, "mmHg", t_us=at(38), device="suntech-advantage@sim"),
    ]
    prompts = prompts_for(
        TEMPLATES["intranasal-esketamine"], record, readings, session_start_us=at(-15), now_us=at(39)
    )
    assert [p.text for p in prompts] == ["MOAA/S overdue", "BP at ~40 min due", "CADSS at ~40 min due"]

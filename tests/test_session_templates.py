"""Protocol templates and rating scales load from data files, score, and refuse bad files clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.session.datafile import DataFileError
from kapmonitor.session.scales import RatingError, RatingScale, builtin_scales
from kapmonitor.session.templates import ProtocolTemplate, builtin_templates

T = 1_700_000_000_000_000


def test_the_four_shipped_protocols_load() -> None:
    templates = builtin_templates()
    assert set(templates) == {"iv-infusion", "im-ketamine", "intranasal-esketamine", "sublingual"}
    assert {t.dosing.form for t in templates.values()} == {"infusion", "bolus", "intranasal", "oral"}


def test_iv_infusion_template_prompts_bp_every_10_then_15_min() -> None:
    iv = builtin_templates()["iv-infusion"]
    assert iv.dosing.default_mg_per_kg == 0.5 and iv.dosing.infusion_minutes == 40
    assert iv.dosing.concentration_mg_per_ml == 1.0 and iv.dosing.needs_weight
    every = {(c.during, c.every_min) for c in iv.checks if c.measure == "bp" and c.when == "every"}
    assert every == {("infusion", 10.0), ("after-infusion", 15.0)}
    assert "spo2" in iv.continuous


def test_esketamine_template_has_the_label_fixed_points() -> None:
    esk = builtin_templates()["intranasal-esketamine"]
    assert esk.minimum_monitoring_min >= 120
    assert esk.dosing.device_mg == 28 and esk.dosing.rest_between_devices_min == 5
    bp = [(c.when, c.at_min) for c in esk.checks if c.measure == "bp"]
    assert bp == [("pre-dose", None), ("after-dose", 40.0), ("before-discharge", None)]
    assert ("every", 15.0) in [(c.when, c.every_min) for c in esk.checks if c.measure == "moaas"]
    assert [c.when for c in esk.checks if c.measure == "cadss"] == ["after-dose", "before-discharge"]
    kinds = [c.kind for c in esk.discharge]
    assert kinds == ["minimum-time", "rating", "rating", "bp", "spo2", "confirm"]


def _write(tmp_path: Path, text: str, name: str = "clinic.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """
[protocol]
name = "x"
title = "X"
[dosing]
form = "bolus"
drug = "ketamine"
route = "im"
[[checks]]
measure = "bp"
label = "BP"
when = "pre-dose"
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('form = "bolus"', 'form = "pill"'),
            "[dosing] 'form' must be one of infusion, bolus, intranasal, oral",
        ),
        (('measure = "bp"', 'measure = "gcs"'), "'measure' 'gcs' is neither 'bp' nor a known scale"),
        (('when = "pre-dose"', 'when = "every"'), "a check 'every' needs 'every_min' above zero"),
        (('when = "pre-dose"', 'when = "after-dose"'), "needs 'at_min'"),
        (('route = "im"', "route = 3"), "[dosing] 'route' must be text (found 3)"),
        (
            ('drug = "ketamine"\n', 'drug = "ketamine"\nmax_mg_per_kg = 2\n'),
            "doses per kg need 'needs_weight = true'",
        ),
        (('form = "bolus"', 'form = "intranasal"'), "needs 'device_mg' and 'rest_between_devices_min'"),
        (("[[checks]]", "[[nothing]]"), "has no [[checks]]"),
        (("[dosing]", "[dosage]"), "missing table [dosing]"),
        (('title = "X"', "title = "), "not valid TOML"),
    ],
)
def test_a_bad_protocol_file_says_what_is_wrong(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(DataFileError) as err:
        ProtocolTemplate.load(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_a_good_clinic_protocol_loads(tmp_path: Path) -> None:
    template = ProtocolTemplate.load(_write(tmp_path, GOOD))
    assert template.name == "x" and template.checks[0].text == "BP due"


def test_a_missing_protocol_file_is_named() -> None:
    with pytest.raises(DataFileError, match="nowhere.toml: file not found"):
        ProtocolTemplate.load("nowhere.toml")


# ---- rating scales --------------------------------------------------------------------------------


def test_cadss_has_23_items_19_patient_4_observer_and_the_6_item_form() -> None:
    cadss = builtin_scales()["cadss"]
    assert len(cadss.items) == 23
    assert [i.rater for i in cadss.items].count("patient") == 19
    assert [i.key for i in cadss.items if i.rater == "observer"] == ["20", "21", "22", "23"]
    assert all((i.low, i.high) == (0, 4) for i in cadss.items)
    assert cadss.forms["cadss-6"] == ("1", "2", "6", "7", "15", "22")


def test_cadss_total_and_short_form_total() -> None:
    cadss = builtin_scales()["cadss"]
    answers = {str(k): 0 for k in range(1, 24)}
    answers.update({"1": 2, "2": 3, "3": 1, "7": 4, "22": 1, "23": 2})
    assert cadss.total(answers) == 13
    assert cadss.form_total("cadss-6", answers) == 2 + 3 + 4 + 1
    assert cadss.total({"1": 1, "2": 1, "6": 1, "7": 1, "15": 1, "22": 4}, form="cadss-6") == 9
    assert cadss.total({str(k): 4 for k in range(1, 24)}) == 92


def test_entered_values_are_checked_for_range_type_missing_and_unknown_items() -> None:
    cadss = builtin_scales()["cadss"]
    with pytest.raises(RatingError) as err:
        cadss.rate(
            {"1": 5, "2": 1, "6": 1.5, "7": 0, "15": 0, "99": 1},
            form="cadss-6",
            t_us=T,
            entered_us=T,
            author="rn",
        )
    problems = err.value.problems
    assert any("item 1" in p and "is 5, outside 0 to 4" in p for p in problems)
    assert any("item 6" in p and "whole number" in p for p in problems)
    assert any("item 22" in p and "is missing" in p for p in problems)
    assert any("'99' is not part of cadss-6" in p for p in problems)
    with pytest.raises(RatingError, match="no short form 'cadss-8'"):
        cadss.total({}, form="cadss-8")


def test_single_item_scales_take_their_value_directly() -> None:
    scales = builtin_scales()
    moaas = scales["moaas"].rate(5, t_us=T, entered_us=T, author="rn")
    assert moaas.score == 5 and moaas.scale == "moaas"
    assert scales["moaas"].levels is not None and set(scales["moaas"].levels) == set(range(6))
    assert scales["rass"].rate(-5, t_us=T, entered_us=T, author="rn").score == -5
    with pytest.raises(RatingError, match="outside -5 to 4"):
        scales["rass"].rate(5, t_us=T, entered_us=T, author="rn")
    with pytest.raises(RatingError, match="outside 0 to 5"):
        scales["moaas"].rate(6, t_us=T, entered_us=T, author="rn")
    with pytest.raises(RatingError, match="must be a whole number, not True"):
        scales["moaas"].rate(True, t_us=T, entered_us=T, author="rn")
    with pytest.raises(RatingError, match="has several items"):
        scales["cadss"].rate(3, t_us=T, entered_us=T, author="rn")


def test_patient_ratings_have_no_total_and_take_any_subset() -> None:
    vas = builtin_scales()["patient-vas"]
    rating = vas.rate({"dissociation": 7, "nausea": 2}, t_us=T, entered_us=T, author="rn")
    assert rating.score is None and rating.value("dissociation") == 7 and rating.value("anxiety") is None
    with pytest.raises(RatingError, match="no item was rated"):
        vas.rate({}, t_us=T, entered_us=T, author="rn")
    with pytest.raises(RatingError, match="outside 0 to 10"):
        vas.rate({"anxiety": 11}, t_us=T, entered_us=T, author="rn")


SCALE = """
[scale]
name = "s"
title = "S"
low = 0
high = 3
[[items]]
key = 1
label = "one"
[forms]
short = [1]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("high = 3", "high = 0"), "'low' (0) must be below 'high' (0)"),
        (("short = [1]", "short = [1, 9]"), "[forms] 'short' names unknown items 9"),
        (('label = "one"', 'label = "one"\nrater = "robot"'), "'rater' must be one of patient, observer"),
        (("[[items]]\nkey = 1", "[[items]]"), "[items #1] is missing 'key'"),
        (("[forms]", '[levels]\nx = "bad"\n[forms]'), "[levels] 'x' is not a whole number"),
    ],
)
def test_a_bad_scale_file_says_what_is_wrong(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(DataFileError) as err:
        RatingScale.load(_write(tmp_path, SCALE.replace(*change), "scale.toml"))
    assert message in str(err.value)

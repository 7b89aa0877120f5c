"""Raking: exact weights on small tables, non-convergence, empty categories and the weight cap."""

from __future__ import annotations

import pytest

from bot.weighting import RakingResult, WeightingError, rake


def people(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"gender": gender, "age": age} for gender, age in pairs]


def test_one_characteristic_exact():
    # Sample shares: young 1/4, old 3/4. Targets: young 1/2, old 1/2.
    # Each weight is target share / sample share: 0.5 / 0.25 = 2 and 0.5 / 0.75 = 2/3.
    samples = [{"age": "young"}, {"age": "old"}, {"age": "old"}, {"age": "old"}]
    result = rake(samples, {"age": {"young": 0.5, "old": 0.5}})
    assert result.weights == pytest.approx((2.0, 2 / 3, 2 / 3, 2 / 3), rel=1e-12)
    assert result.converged
    assert result.iterations == 1


def test_targets_are_normalised():
    # Counts instead of shares give the same weights as the shares 1/2 and 1/2.
    samples = [{"age": "young"}, {"age": "old"}, {"age": "old"}, {"age": "old"}]
    result = rake(samples, {"age": {"young": 5000, "old": 5000}})
    assert result.weights == pytest.approx((2.0, 2 / 3, 2 / 3, 2 / 3), rel=1e-12)


def test_two_characteristics_by_hand():
    # Cells and sample counts: male/young 1, male/old 1, female/young 1, female/old 2.
    # The raking solution has the form w = x[gender] * y[age]. Take x = {M: 2, F: 1} and
    # y = {young: 1, old: 0.5}: the cell weights are M/young 2, M/old 1, F/young 1, F/old 0.5.
    # Their sum is 2 + 1 + 1 + 2 * 0.5 = 5 = n, so the mean weight is 1. Weighted shares:
    # male (2 + 1) / 5 = 0.6, female 0.4, young (2 + 1) / 5 = 0.6, old 0.4. These are the
    # targets, and as the solution of that form is unique, raking must reach these weights.
    samples = people(("M", "young"), ("M", "old"), ("F", "young"), ("F", "old"), ("F", "old"))
    targets = {"gender": {"M": 0.6, "F": 0.4}, "age": {"young": 0.6, "old": 0.4}}
    result = rake(samples, targets, tolerance=1e-12, max_iterations=1000)
    assert result.converged
    assert result.weights == pytest.approx((2.0, 1.0, 1.0, 0.5, 0.5), rel=1e-9)
    assert result.max_difference <= 1e-12


def test_weights_have_mean_one():
    samples = people(("M", "young"), ("M", "old"), ("F", "young"), ("F", "old"), ("F", "old"))
    targets = {"gender": {"M": 0.3, "F": 0.7}, "age": {"young": 0.45, "old": 0.55}}
    result = rake(samples, targets)
    assert sum(result.weights) / len(result.weights) == pytest.approx(1.0)


def test_contradictory_targets_do_not_converge():
    # Every man is young and every woman old, so gender 1/2 and age 1/5 cannot both hold:
    # the weights swing between the two margins.
    samples = people(("M", "young"), ("F", "old"))
    targets = {"gender": {"M": 0.5, "F": 0.5}, "age": {"young": 0.2, "old": 0.8}}
    result = rake(samples, targets, max_iterations=50)
    assert not result.converged
    assert result.iterations == 50
    assert result.max_difference == pytest.approx(0.3)


def test_iteration_limit_one():
    # One pass ends on the age margin, which leaves the gender margin off.
    samples = people(("M", "young"), ("M", "old"), ("F", "young"), ("F", "old"), ("F", "old"))
    targets = {"gender": {"M": 0.6, "F": 0.4}, "age": {"young": 0.6, "old": 0.4}}
    result = rake(samples, targets, max_iterations=1)
    assert isinstance(result, RakingResult)
    assert not result.converged
    assert result.iterations == 1
    assert result.max_difference > 1e-6


def test_empty_category_raises():
    samples = [{"age": "25-44"}, {"age": "65+"}]
    with pytest.raises(WeightingError, match=r"category 'age=16-24' is empty in the panel"):
        rake(samples, {"age": {"16-24": 0.2, "25-44": 0.4, "65+": 0.4}})


def test_empty_category_with_zero_share():
    samples = [{"age": "25-44"}, {"age": "65+"}]
    result = rake(samples, {"age": {"16-24": 0.0, "25-44": 0.5, "65+": 0.5}})
    assert result.converged


def test_unknown_sample_category_raises():
    samples = [{"age": "25-44"}, {"age": "0-15"}]
    with pytest.raises(WeightingError, match=r"sample 1 has category 'age=0-15'"):
        rake(samples, {"age": {"25-44": 0.5, "65+": 0.5}})


def test_missing_characteristic_raises():
    samples = [{"age": "25-44"}, {"gender": "female"}]
    with pytest.raises(WeightingError, match=r"sample 1 has no value for 'age'"):
        rake(samples, {"age": {"25-44": 1.0}})


@pytest.mark.parametrize(
    "arguments",
    [
        {"samples": [], "targets": {"age": {"a": 1.0}}},
        {"samples": [{"age": "a"}], "targets": {}},
        {"samples": [{"age": "a"}], "targets": {"age": {"a": -1.0}}},
        {"samples": [{"age": "a"}], "targets": {"age": {"a": 0.0}}},
        {"samples": [{"age": "a"}], "targets": {"age": {"a": 1.0}}, "cap": 0.5},
        {"samples": [{"age": "a"}], "targets": {"age": {"a": 1.0}}, "max_iterations": 0},
    ],
)
def test_invalid_arguments_raise(arguments):
    with pytest.raises(WeightingError):
        rake(**arguments)


def test_cap_binds():
    # One young resident among ten must carry half the weight: 0.5 / 0.1 = 5 times the mean.
    # A cap of 2 keeps that weight at 2, so the age margin cannot be met.
    samples = [{"age": "young"}] + [{"age": "old"}] * 9
    result = rake(samples, {"age": {"young": 0.5, "old": 0.5}}, cap=2.0, max_iterations=20)
    assert result.cap_bound
    assert not result.converged
    assert max(result.weights) <= 2.0 + 1e-9
    assert sum(result.weights) == pytest.approx(10.0)


def test_cap_trims_to_limit():
    samples = [{"age": "young"}] + [{"age": "old"}] * 9
    result = rake(samples, {"age": {"young": 0.5, "old": 0.5}}, cap=2.0, max_iterations=20)
    # Young share with weights 2 and 8/9: 2 / 10 = 0.2, which is 0.3 from its target.
    assert result.weights[0] == pytest.approx(2.0)
    assert result.max_difference == pytest.approx(0.3)


def test_cap_not_reached():
    samples = [{"age": "young"}] + [{"age": "old"}] * 9
    result = rake(samples, {"age": {"young": 0.5, "old": 0.5}}, cap=10.0)
    assert not result.cap_bound
    assert result.converged
    assert result.weights[0] == pytest.approx(5.0)


def test_cap_none_disables_trimming():
    samples = [{"age": "young"}] + [{"age": "old"}] * 99
    result = rake(samples, {"age": {"young": 0.5, "old": 0.5}}, cap=None)
    assert result.weights[0] == pytest.approx(50.0)
    assert not result.cap_bound


def test_cap_with_two_characteristics():
    # Cells: male/young 2, male/old 2, female/young 1, female/old 3; all targets 1/2, n = 8.
    # Uncapped, the one female/young resident gets about 1.46. With weights a, b, c, d per
    # cell the margins are 2a + 2b = 4, c + 3d = 4, 2a + c = 4 and 2b + 3d = 4. At the cap
    # c = 1.4 they give a = 1.3, b = 0.7 and d = 2.6 / 3, all below the cap.
    samples = people(
        ("M", "young"), ("M", "young"), ("M", "old"), ("M", "old"),
        ("F", "young"), ("F", "old"), ("F", "old"), ("F", "old"),
    )
    targets = {"gender": {"M": 0.5, "F": 0.5}, "age": {"young": 0.5, "old": 0.5}}
    uncapped = rake(samples, targets, cap=None, tolerance=1e-9, max_iterations=1000)
    capped = rake(samples, targets, cap=1.4, tolerance=1e-9, max_iterations=1000)
    assert max(uncapped.weights) > 1.4
    assert capped.converged
    assert capped.cap_bound
    assert capped.weights == pytest.approx((1.3, 1.3, 0.7, 0.7, 1.4, 2.6 / 3, 2.6 / 3, 2.6 / 3), rel=1e-6)


def test_cap_too_tight_for_two_characteristics():
    # Same cells with a cap of 1.3: c <= 1.3 forces a = (4 - c) / 2 >= 1.35, above the cap.
    samples = people(
        ("M", "young"), ("M", "young"), ("M", "old"), ("M", "old"),
        ("F", "young"), ("F", "old"), ("F", "old"), ("F", "old"),
    )
    targets = {"gender": {"M": 0.5, "F": 0.5}, "age": {"young": 0.5, "old": 0.5}}
    result = rake(samples, targets, cap=1.3, tolerance=1e-9, max_iterations=200)
    assert not result.converged
    assert result.cap_bound
    assert max(result.weights) <= 1.3 + 1e-9

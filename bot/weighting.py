"""Raking (iterative proportional fitting): weights that match the panel to population shares.

Each sample is one resident's categories, such as ``{"age": "25-44", "gender": "female"}``.
Each target maps a characteristic to its population share per category, such as
``{"gender": {"male": 0.49, "female": 0.51}}``. Raking scales the weights one characteristic
at a time until the weighted sample shares match every target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class WeightingError(ValueError):
    """Samples and targets that raking cannot combine. The message names the category."""


@dataclass(frozen=True)
class RakingResult:
    # One weight per sample, in the samples' order, with mean 1.
    weights: tuple[float, ...]
    iterations: int
    converged: bool
    # Largest absolute difference between a weighted sample share and its target share.
    max_difference: float
    # True when trimming to the cap changed weights in the last iteration.
    cap_bound: bool


def rake(
    samples: Sequence[Mapping[str, str]],
    targets: Mapping[str, Mapping[str, float]],
    *,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    cap: float | None = 5.0,
) -> RakingResult:
    """Compute one weight per sample so the weighted shares match the target shares.

    Target shares per characteristic are normalised to sum to 1. Each iteration scales the
    weights to every characteristic in turn, then trims weights above ``cap`` times the mean
    (``None`` disables the cap) and spreads the trimmed excess over the other weights. Raking
    stops when no share differs from its target by more than ``tolerance``.

    Raise WeightingError for invalid arguments, a sample whose category is missing from the
    targets, or a target category with a positive share and no samples. Non-convergence is
    not an error: the result has ``converged=False`` and the remaining ``max_difference``.
    """
    _check_arguments(samples, targets, max_iterations, tolerance, cap)
    shares = {characteristic: _normalise(characteristic, target) for characteristic, target in targets.items()}
    _check_categories(samples, shares)

    size = len(samples)
    weights = [1.0] * size
    max_difference = math.inf
    cap_bound = False
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        for characteristic, target in shares.items():
            _adjust(weights, samples, characteristic, target)
        cap_bound = cap is not None and _trim(weights, cap)
        max_difference = _max_difference(weights, samples, shares)
        if max_difference <= tolerance:
            break

    return RakingResult(
        weights=tuple(weights),
        iterations=iterations,
        converged=max_difference <= tolerance,
        max_difference=max_difference,
        cap_bound=cap_bound,
    )


def _check_arguments(samples, targets, max_iterations, tolerance, cap) -> None:
    if not samples:
        raise WeightingError("no samples to weight")
    if not targets:
        raise WeightingError("no targets: give the population shares of at least one characteristic")
    if max_iterations < 1:
        raise WeightingError(f"invalid max_iterations {max_iterations}: expected 1 or more")
    if not tolerance > 0:
        raise WeightingError(f"invalid tolerance {tolerance}: expected a positive number")
    # The mean weight is 1, so a cap below 1 could never be met.
    if cap is not None and not cap >= 1:
        raise WeightingError(f"invalid cap {cap}: expected 1 or more, or None for no cap")


def _normalise(characteristic: str, target: Mapping[str, float]) -> dict[str, float]:
    for category, share in target.items():
        if not (math.isfinite(share) and share >= 0):
            raise WeightingError(
                f"invalid target share {share!r} for '{characteristic}={category}': "
                "expected a finite number of 0 or more"
            )
    total = sum(target.values())
    if total <= 0:
        raise WeightingError(f"the target shares of {characteristic!r} sum to {total}: expected a positive sum")
    return {category: share / total for category, share in target.items()}


def _check_categories(samples: Sequence[Mapping[str, str]], shares: Mapping[str, Mapping[str, float]]) -> None:
    for characteristic, target in shares.items():
        members = {category: 0 for category in target}
        for index, sample in enumerate(samples):
            if characteristic not in sample:
                raise WeightingError(f"sample {index} has no value for {characteristic!r}")
            category = sample[characteristic]
            if category not in members:
                raise WeightingError(
                    f"sample {index} has category '{characteristic}={category}', which is missing "
                    "from the targets. Add its share or drop the sample"
                )
            members[category] += 1
        for category, count in members.items():
            if count == 0 and target[category] > 0:
                raise WeightingError(
                    f"category '{characteristic}={category}' is empty in the panel: "
                    "weights cannot reach its share"
                )


def _weighted_totals(weights: Sequence[float], samples: Sequence[Mapping[str, str]], characteristic: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for weight, sample in zip(weights, samples):
        category = sample[characteristic]
        totals[category] = totals.get(category, 0.0) + weight
    return totals


def _adjust(weights: list[float], samples: Sequence[Mapping[str, str]], characteristic: str, target: Mapping[str, float]) -> None:
    """Scale the weights so this characteristic's weighted totals equal its target totals."""
    size = len(weights)
    totals = _weighted_totals(weights, samples, characteristic)
    factors = {}
    for category, total in totals.items():
        # A category whose weights are all 0 (set by a zero share elsewhere) cannot be
        # scaled up. It is left as is and shows as a remaining difference.
        factors[category] = target[category] * size / total if total > 0 else 1.0
    for index, sample in enumerate(samples):
        weights[index] *= factors[sample[characteristic]]


def _trim(weights: list[float], cap: float) -> bool:
    """Trim weights above cap times the mean weight and spread the excess over the others.

    The spread keeps the sum of the weights, so it can lift other weights over the cap, and
    the loop repeats until none is above. Return whether any weight was trimmed.
    """
    limit = cap * sum(weights) / len(weights)
    trimmed = False
    while True:
        excess = sum(weight - limit for weight in weights if weight > limit)
        if excess <= limit * 1e-12:
            return trimmed
        trimmed = True
        below = [index for index, weight in enumerate(weights) if weight < limit]
        below_total = sum(weights[index] for index in below)
        for index, weight in enumerate(weights):
            if weight > limit:
                weights[index] = limit
        if below_total <= 0:
            # Only possible when every weight is at the cap, which means cap == 1.
            return trimmed
        for index in below:
            weights[index] += excess * weights[index] / below_total


def _max_difference(weights: Sequence[float], samples: Sequence[Mapping[str, str]], shares: Mapping[str, Mapping[str, float]]) -> float:
    total = sum(weights)
    difference = 0.0
    for characteristic, target in shares.items():
        totals = _weighted_totals(weights, samples, characteristic)
        for category, share in target.items():
            difference = max(difference, abs(totals.get(category, 0.0) / total - share))
    return difference

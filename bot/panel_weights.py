"""Weights for a survey's respondents, raked to the reference population.

Respondents are weighted on the characteristics in the CHATPANEL_WEIGHTING setting.
A respondent whose category is unknown (no age band given, postcode outside the map)
keeps weight 1 and takes no part in the raking.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Texts
from bot.representativeness import ReferenceSetup
from bot.weighting import WeightingError, rake
from store.models import Resident, Response

log = logging.getLogger(__name__)

# Raking with a binding cap cannot meet every target exactly. Capped weights are still used
# when no weighted share is further than this from its population share.
CAPPED_TOLERANCE = 0.05


@dataclass(frozen=True)
class WeightingProblem:
    """The reason a survey's results stay unweighted."""

    # "too_few": fewer respondents than the minimum group size; "empty_category": a category
    # with a population share has no respondents; "not_converged": raking did not fit.
    kind: str
    characteristic: str | None = None
    category: str | None = None
    max_difference: float | None = None

    def describe(self, t: Texts, label: str | None = None) -> str:
        """Return the problem in ``t``'s language; ``label`` names the category for readers."""
        if self.kind == "too_few":
            return t.gettext("Too few residents responded to weight the results.")
        if self.kind == "empty_category":
            return t.gettext(
                'No respondent is in the category "%(category)s".',
                category=label or self.category,
            )
        return t.gettext(
            "Weighting did not fit the population: shares still differ by up to %(points)s percentage points.",
            points=t.number(round((self.max_difference or 0.0) * 100, 1)),
        )


@dataclass(frozen=True)
class SurveyWeights:
    # Resident id to weight; None when the results stay unweighted.
    weights: Mapping[int, float] | None
    problem: WeightingProblem | None = None
    # True when the cap on weights kept the shares from fitting exactly.
    capped: bool = False


async def survey_weights(
    session: AsyncSession, survey_pk: int, setup: ReferenceSetup | None, min_group_size: int
) -> SurveyWeights:
    """Rake the respondents of survey ``survey_pk`` to ``setup``'s population shares.

    Returns weights None and no problem when weighting is not configured.
    """
    if setup is None or not setup.weighting:
        return SurveyWeights(None)
    statement = (
        select(Response.resident_id, Resident.age_band, Resident.postcode)
        .join(Resident, Resident.id == Response.resident_id)
        .where(Response.survey_id == survey_pk)
    )
    rows = (await session.execute(statement)).all()
    return weights_for(setup, [(resident_id, age_band, postcode) for resident_id, age_band, postcode in rows], min_group_size)


def weights_for(
    setup: ReferenceSetup, respondents: list[tuple[int, str | None, str | None]], min_group_size: int
) -> SurveyWeights:
    """Rake ``respondents`` given as (resident id, age band, postcode)."""
    if len(respondents) < max(min_group_size, 1):
        return SurveyWeights(None, WeightingProblem("too_few"))
    weights = {resident_id: 1.0 for resident_id, _, _ in respondents}
    raked_ids, samples = [], []
    for resident_id, age_band, postcode in respondents:
        sample = {name: setup.category_of(name, age_band, postcode) for name in setup.weighting}
        if all(category is not None for category in sample.values()):
            raked_ids.append(resident_id)
            samples.append(sample)
    if len(samples) < max(min_group_size, 1):
        return SurveyWeights(None, WeightingProblem("too_few"))
    targets = {name: setup.population_shares(name) for name in setup.weighting}
    try:
        result = rake(samples, targets, cap=setup.weight_cap)
    except WeightingError as error:
        return SurveyWeights(None, _problem_of(error, samples, targets))
    capped = not result.converged and result.cap_bound and result.max_difference <= CAPPED_TOLERANCE
    if not (result.converged or capped):
        log.warning("raking did not converge: max difference %.4f after %s iterations", result.max_difference, result.iterations)
        return SurveyWeights(None, WeightingProblem("not_converged", max_difference=result.max_difference))
    weights.update(zip(raked_ids, result.weights))
    return SurveyWeights(weights, capped=capped)


def _problem_of(error: WeightingError, samples, targets) -> WeightingProblem:
    """Name the empty category behind ``error``; the first empty one when several are."""
    for characteristic, shares in targets.items():
        present = {sample[characteristic] for sample in samples}
        for category, share in shares.items():
            if share > 0 and category not in present:
                return WeightingProblem("empty_category", characteristic, category)
    # Other WeightingErrors come from invalid settings, which load_reference_setup rejects.
    raise error

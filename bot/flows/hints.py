"""Translated hints for replies that did not fit the question."""

from __future__ import annotations

from bot.flows.answers import Hint, Rejected
from bot.i18n import Texts


def hint_text(t: Texts, rejected: Rejected) -> str:
    """Return the short hint for ``rejected`` in the resident's language."""
    params = rejected.params
    hint = rejected.hint
    if hint is Hint.CHOOSE_ONE:
        return t.gettext("Please send the number of one option, from 1 to %(count)s.", count=params["count"])
    if hint is Hint.CHOOSE_SEVERAL:
        return _choose_several(t, params)
    if hint is Hint.YES_OR_NO:
        return t.gettext("Please answer yes or no.")
    if hint is Hint.SCALE_RANGE:
        return t.gettext("Please send a whole number from %(min)s to %(max)s.", min=params["min"], max=params["max"])
    if hint is Hint.NUMBER_INVALID:
        return t.gettext("Please send a number.")
    if hint is Hint.NUMBER_RANGE:
        return _number_range(t, params)
    if hint is Hint.TOO_MANY_DECIMALS:
        decimals = int(params["decimals"])
        if decimals == 0:
            return t.gettext("Please send a whole number.")
        return t.ngettext(
            "Please use at most %(count)s digit after the decimal point.",
            "Please use at most %(count)s digits after the decimal point.",
            decimals,
        )
    if hint is Hint.TEXT_EMPTY:
        return t.gettext("Please write your answer in a text message.")
    if hint is Hint.TEXT_TOO_LONG:
        return t.gettext(
            "Your answer is %(length)s characters long. Please keep it to %(max)s characters.",
            length=params["length"],
            max=params["max_length"],
        )
    if hint is Hint.AMBIGUOUS:
        if "option_ids" not in params:
            # A yes/no reply that contained both yes and no.
            return t.gettext("Please answer yes or no.")
        return t.gettext("I am not sure which option you mean. Please send its number.")
    raise AssertionError(f"no text for hint {hint}")


def _choose_several(t: Texts, params) -> str:
    low, high = int(params["min_choices"]), int(params["max_choices"])
    if low == high:
        return t.ngettext(
            "Please send the number of %(count)s option, for example 1.",
            "Please send the numbers of %(count)s options, for example 1,3.",
            low,
        )
    return t.gettext(
        "Please send the numbers of %(min)s to %(max)s options, for example 1,3.", min=low, max=high
    )


def _number_range(t: Texts, params) -> str:
    low, high = params.get("min"), params.get("max")
    if low is not None and high is not None:
        return t.gettext("Please send a number from %(min)s to %(max)s.", min=t.number(low), max=t.number(high))
    if low is not None:
        return t.gettext("Please send a number of at least %(min)s.", min=t.number(low))
    return t.gettext("Please send a number of at most %(max)s.", max=t.number(high))

"""OVER/ABOUT: who owns the panel, who asks questions, who sees the results, and privacy."""

from __future__ import annotations

from sqlalchemy import select

from bot.turn import Turn
from store.models import Organisation

OWNER_KIND = "owner"


async def about_text(turn: Turn) -> str:
    t = turn.t
    organisations = list((await turn.session.execute(select(Organisation).order_by(Organisation.name))).scalars())
    owner = next((organisation.name for organisation in organisations if organisation.kind == OWNER_KIND), turn.panel.owner)
    partners = [organisation.name for organisation in organisations if organisation.kind != OWNER_KIND]
    lines = [t.gettext("%(panel)s belongs to %(owner)s.", panel=turn.panel.name, owner=owner)]
    if partners:
        lines.append(t.gettext("These organisations ask questions through the panel: %(partners)s.", partners=", ".join(partners)))
    lines.append(
        t.gettext(
            "Every survey says who asks it. The results go to that organisation and back to you "
            "and everyone who answered, never with answers that can be traced to you."
        )
    )
    lines.append(t.gettext("How we handle your data: %(url)s", url=turn.panel.privacy_url))
    lines.append(t.gettext("Send MY DATA to see what we store about you, or DELETE to have it all deleted."))
    return "\n".join(lines)

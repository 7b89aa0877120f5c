"""ONDERWERPEN/TOPICS: residents see the panel's topics and support the ones that matter
to them, each topic once."""

from __future__ import annotations

from bot import topics
from bot.flows import pending
from bot.flows.answers import Accepted, parse_answer
from bot.flows.model import Option, Question, QuestionType
from bot.flows.pending import TOPICS
from bot.turn import Turn

STEP = "choose"
# How many topics one list shows: enough to choose from, short enough for one SMS.
MAX_LISTED = 5


async def begin(turn: Turn) -> None:
    t = turn.t
    if turn.resident is None:
        turn.say(t.gettext("You can support topics once you have joined the panel."), prompt=await pending.current_prompt(turn))
        return
    rows = await topics.approved_topics(turn.session, MAX_LISTED)
    if not rows:
        note = t.gettext("There are no topics on the list yet. Send IDEA to suggest one.")
        turn.say(note, prompt=await pending.current_prompt(turn))
        return
    pending.interrupt(turn, TOPICS, STEP)
    turn.conversation.context = {"topics": [[row.suggestion.id, topics.public_title(row.suggestion)] for row in rows]}
    turn.say(prompt=await pending.current_prompt(turn))


async def answer(turn: Turn, text: str) -> None:
    assert turn.resident is not None
    listed = (turn.conversation.context or {}).get("topics", [])
    question = Question(
        id="topic",
        type=QuestionType.SINGLE_CHOICE,
        text={"nl": ""},
        options=tuple(Option(id=str(topic_id), label={"nl": title}) for topic_id, title in listed),
    )
    result = parse_answer(question, text)
    if not isinstance(result, Accepted):
        note = turn.t.gettext("Please send the number of a topic, or SKIP to go back.")
        turn.say(note, prompt=await pending.current_prompt(turn))
        return
    topic_id = int(str(result.value))
    title = dict((topic_id_, title_) for topic_id_, title_ in listed)[topic_id]
    added = await topics.support(turn.session, topic_id, turn.resident.id, turn.now)
    t = turn.t
    if not added:
        await pending.resume(turn, t.gettext("You already support \"%(topic)s\".", topic=title))
        return
    supporters = await topics.count_supporters(turn.session, topic_id)
    note = t.ngettext(
        "Thank you! You now support \"%(topic)s\". %(count)s resident supports it.",
        "Thank you! You now support \"%(topic)s\". %(count)s residents support it.",
        supporters,
        topic=title,
    )
    await pending.resume(turn, note)

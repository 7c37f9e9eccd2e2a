"""One crisis assessment per message: the channel's screening and the NLU guard share it.

``bot.crisis.tiers.one_turn`` lets the second ``assess`` of the same text take the first
one's verdict. These tests check that the rules and the risk model then run once per
message, that nothing is remembered across turns, and that the guard's decision is
exactly what it is when it judges the text afresh.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Dict, List

import pytest
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.channels import fastpath
from bot.crisis import tiers
from bot.nlu.crisis_guard import CrisisGuard
from evaluation import corpus

pytestmark = pytest.mark.unit

ORDINARY = [
    "how long is a session?",
    "Is online therapy private? I want to die",
    "i'm not suicidal, just asking how therapy works",
    "everything feels pointless lately and i don't see the point",
    "This traffic is killing me lol",
]


def _messages() -> List[str]:
    """Ordinary questions, crisis disclosures, check-ins and harmless look-alikes."""
    escalate = [m for _, m in corpus.iter_messages(corpus.load_escalate(include_holdout=False)["main"])]
    must_not = [m for _, m in corpus.iter_messages(corpus.load_must_not())]
    return [m.strip() for m in ORDINARY + escalate[::40] + must_not[::40] if m.strip()]


def _guard_decision(text: str) -> Dict[str, Any]:
    """What the NLU guard decides for ``text``: its parse data, as Rasa would store it."""
    message = Message(data={TEXT: text})
    CrisisGuard(None, None).process([message])  # type: ignore[arg-type]
    return message.as_dict(only_output_properties=True)


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The texts the rules and the risk model actually judged, in order."""
    calls: List[str] = []
    original = tiers._judge

    def counting(text: str) -> tiers.Assessment:
        calls.append(text)
        return original(text)

    monkeypatch.setattr(tiers, "_judge", counting)
    return calls


def test_inside_a_turn_each_text_is_judged_once_with_the_same_verdict(judged: List[str]) -> None:
    for text in _messages():
        fresh = tiers.assess(text)
        with tiers.one_turn():
            first, second = tiers.assess(text), tiers.assess(text)
        assert first == second == fresh, text
    assert len(judged) == 2 * len(_messages())


def test_nothing_is_remembered_outside_or_across_turns(judged: List[str]) -> None:
    tiers.assess(ORDINARY[0])
    tiers.assess(ORDINARY[0])
    with tiers.one_turn():
        tiers.assess(ORDINARY[0])
    with tiers.one_turn():
        tiers.assess(ORDINARY[0])
    assert judged == [ORDINARY[0]] * 4


def test_a_turn_through_the_channel_assesses_once_and_the_guard_decides_as_before(judged: List[str]) -> None:
    """Rasa is a fake that runs the real guard on what it receives, as the pipeline does."""
    texts = _messages()
    expected = {text: _guard_decision(text) for text in texts}
    decided: Dict[str, Dict[str, Any]] = {}

    async def rasa(message: Any) -> None:
        if message.parse_data is None:  # a crisis turn recorded with its parse data skips the pipeline
            decided[message.text] = _guard_decision(message.text)
        await message.output_channel.send_text_message(message.sender_id, "an answer")

    async def scenario() -> None:
        for text in texts:
            output = fastpath.WholeMessageOutputChannel()
            await fastpath.respond(f"turn-{uuid.uuid4().hex[:8]}", text, None, "rest", rasa, output)
        while fastpath.pending_records():
            await asyncio.sleep(0.01)

    judged.clear()
    asyncio.run(scenario())
    assert judged == texts, "one judgement per message, shared by the screening and the guard"
    assert decided and all(decided[text] == expected[text] for text in decided)

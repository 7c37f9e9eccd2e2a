"""How urgent a message is: the crisis tier, the check-in tier, or none.

Every part of the assistant that must react to risk (the NLU guard, the channels' fast
path, the rate and length limits, the evaluation) asks this one function, so they can
never disagree about a message. The tiers follow how crisis counsellors work:

* ``crisis``: clear risk. The full crisis reply for the region and kind.
* ``check_in``: possible risk (hopelessness, feeling unable to go on, vague talk of dark
  thoughts, finality, unclear abuse). The assistant asks directly whether the person is
  having thoughts of suicide or of hurting themself, with the crisis line in the same
  message.
* ``none``: nothing that needs either.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Iterator

from bot.crisis import shared_detector
from bot.crisis.risk_model import RiskModel, model_dir

#: Every tier, most urgent first.
TIERS = ("crisis", "check_in", "none")


@dataclass(frozen=True)
class Assessment:
    """The verdict on one message.

    ``kind`` selects the resources (one of ``bot.crisis.KINDS``) and is ``None`` for the
    ``none`` tier; ``source`` names what decided (a rule id, or ``risk_model``) for audit
    logs, never the text; ``score`` is the risk model's highest sentence score (0.0 where
    the model did not run); ``negated`` is True when risk wording was seen and the speaker
    negated it ("I'm not suicidal, just asking"); ``considered`` when risk wording was seen
    and a rule ruled it out (negated, or an exception held).
    """

    tier: str
    kind: str | None = None
    source: str | None = None
    score: float = 0.0
    negated: bool = False
    considered: bool = False

    @property
    def shows_risk(self) -> bool:
        """Whether the message needs a crisis reply or a check-in."""
        return self.tier != "none"


#: The verdict on a message that needs nothing.
NONE = Assessment("none")


@lru_cache(maxsize=1)
def shared_risk_model() -> RiskModel:
    """The one risk model of this process (``models/risk-model`` or ``RISK_MODEL_DIR``).

    A missing model is an error, not a quiet fall-back to the rules alone: an assistant
    that silently lost its second net would look healthy while missing more people.
    """
    return RiskModel.load(model_dir())


#: The verdicts already reached in the message being handled, by exact text (``one_turn``).
_THIS_TURN: ContextVar[Dict[str, Assessment] | None] = ContextVar("therapy_bot_turn_assessments", default=None)


@contextmanager
def one_turn() -> Iterator[None]:
    """Within this block, and in the tasks started in it, each distinct text is assessed once.

    Why: a channel screens every message (``bot.crisis.screening``), then the NLU guard
    assesses the same text again in Rasa's pipeline: the rules and the risk model ran
    twice per turn (about 0.4 ms each, and more on a busy server). ``assess`` depends on
    nothing but the text, so the second call takes the first call's verdict unchanged. The
    verdicts live only as long as the turn's tasks hold this context; never logged or stored.
    """
    token = _THIS_TURN.set({})
    try:
        yield
    finally:
        _THIS_TURN.reset(token)


def assess(text: str) -> Assessment:
    """The tier of one message (judged once per distinct text inside ``one_turn``)."""
    seen = _THIS_TURN.get()
    if seen is None:
        return _judge(text)
    found = seen.get(text)
    if found is None:
        found = seen[text] = _judge(text)
    return found


def _judge(text: str) -> Assessment:
    """The tier of one message, always judged afresh.

    The rules are the auditable floor: a rule's escalation always stands, and a rule's
    check-in can only be raised to the crisis reply by the model, never lowered. When the
    speaker negated the risk wording a rule found ("I'm not suicidal, just asking"), the
    model, which cannot read negation, may at most ask the check-in question: a denial
    does not rule out risk ("he never hits me, but he reads my messages and takes my
    pay"), and on the project's data a negated message that the model scores at the
    check-in level was at risk 22 times in 23, so asking is safer than staying silent.
    """
    detection, negated, considered = shared_detector().screen(text)
    risk = shared_risk_model().score(text)
    rule_tier = getattr(detection, "tier", "crisis") if detection is not None else "none"
    if rule_tier == "crisis":
        return Assessment("crisis", detection.kind, detection.rule, risk.score)
    model_tier = shared_risk_model().tier(risk.score)
    if negated and model_tier == "crisis":
        model_tier = "check_in"
    if model_tier == "crisis":
        kind = detection.kind if detection is not None else risk.kind
        return Assessment("crisis", kind, "risk_model", risk.score)
    if rule_tier == "check_in":
        return Assessment("check_in", detection.kind, detection.rule, risk.score)
    if model_tier == "check_in":
        return Assessment("check_in", risk.kind, "risk_model", risk.score, negated, considered)
    return Assessment("none", score=risk.score, negated=negated, considered=considered)

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

from dataclasses import dataclass

from bot.crisis import shared_detector

#: Every tier, most urgent first.
TIERS = ("crisis", "check_in", "none")


@dataclass(frozen=True)
class Assessment:
    """The verdict on one message.

    ``kind`` selects the resources (one of ``bot.crisis.KINDS``) and is ``None`` for the
    ``none`` tier; ``source`` names what decided (a rule id, or ``risk_model``) for audit
    logs, never the text; ``score`` is the risk model's highest sentence score (0.0 where
    the model did not run); ``negated`` is True when risk wording was seen and the speaker
    negated it ("I'm not suicidal, just asking").
    """

    tier: str
    kind: str | None = None
    source: str | None = None
    score: float = 0.0
    negated: bool = False

    @property
    def shows_risk(self) -> bool:
        """Whether the message needs a crisis reply or a check-in."""
        return self.tier != "none"


NONE = Assessment("none")


def assess(text: str) -> Assessment:
    """The tier of one message (rules first; they are the auditable floor)."""
    detection, negated = shared_detector().screen(text)
    if detection is not None:
        return Assessment("crisis", detection.kind, detection.rule)
    return Assessment("none", negated=negated)

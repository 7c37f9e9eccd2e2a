"""Issue 14: answer when sure, ask "Did you mean…" when unsure, answer two questions, never guess.

The reply rule (``actions.decide``) on its own, then in ``action_answer_topic`` with a real
Tracker, CollectingDispatcher and the domain, then through the trained NLU pipeline.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAnswerTopic
from actions.answers import CLARIFY_TEXT, topic_payload
from actions.decide import DEFAULT, Decision, decide
from actions.knowledge import KNOWLEDGE_TOPICS, KnowledgeBase
from bot.nlu.questions import asked_text, question_clauses
from evaluation.nlu import score_one


def ranking(*pairs: tuple[str, float]) -> List[Dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


def parse_data(*pairs: tuple[str, float], clauses: List[List[Dict[str, Any]]] | None = None) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "text": "(text is irrelevant to the action)",
        "intent": {"name": pairs[0][0], "confidence": pairs[0][1]},
        "intent_ranking": ranking(*pairs),
        "entities": [],
    }
    if clauses is not None:
        data["clauses"] = clauses
    return data


# --- the rule -----------------------------------------------------------------------


@pytest.mark.unit
def test_a_sure_best_topic_is_answered() -> None:
    assert decide(parse_data(("cost", 0.8), ("finding_therapist", 0.1))) == Decision("answer", ("cost",))


@pytest.mark.unit
def test_two_close_topics_get_a_choice() -> None:
    decision = decide(parse_data(("cost", 0.41), ("finding_therapist", 0.38), ("when_to_seek", 0.1)))
    assert decision.kind == "clarify"
    assert decision.candidates == ("cost", "finding_therapist", "when_to_seek")


@pytest.mark.unit
def test_the_middle_band_gets_a_choice_even_without_a_close_runner_up() -> None:
    decision = decide(parse_data(("medication", DEFAULT.answer_min - 0.05), ("conditions", 0.05)))
    assert decision.kind == "clarify" and decision.candidates[0] == "medication"


@pytest.mark.unit
def test_below_the_floor_is_out_of_scope_never_a_guess() -> None:
    assert decide(parse_data(("cost", DEFAULT.floor - 0.01), ("conditions", 0.1))).kind == "out_of_scope"
    assert decide(parse_data(("nlu_fallback", 0.19), ("cost", 0.19))).kind == "out_of_scope"


@pytest.mark.unit
def test_a_sure_out_of_scope_is_out_of_scope() -> None:
    assert decide(parse_data(("out_of_scope", 0.7), ("conditions", 0.1))).kind == "out_of_scope"


@pytest.mark.unit
def test_an_unsure_out_of_scope_offers_the_near_topics() -> None:
    decision = decide(parse_data(("out_of_scope", 0.35), ("conditions", 0.3)))
    assert decision == Decision("clarify", candidates=("conditions",))


@pytest.mark.unit
def test_a_button_press_is_answered() -> None:
    # Rasa parses "/cost" with confidence 1 and the intent as its only ranking.
    assert decide({"intent": {"name": "cost", "confidence": 1.0}, "intent_ranking": ranking(("cost", 1.0))}) \
        == Decision("answer", ("cost",))


@pytest.mark.unit
def test_two_questions_get_two_answers_at_most() -> None:
    clauses = [ranking(("session_length", 0.8), ("cost", 0.1)), ranking(("cost", 0.7), ("online_therapy", 0.1)),
               ranking(("online_therapy", 0.9), ("cost", 0.05))]
    decision = decide(parse_data(("session_length", 0.4), ("cost", 0.38), clauses=clauses))
    assert decision == Decision("compound", ("session_length", "cost"))


@pytest.mark.unit
def test_one_topic_asked_twice_is_one_answer() -> None:
    clauses = [ranking(("cost", 0.8)), ranking(("cost", 0.7))]
    assert decide(parse_data(("cost", 0.9), ("when_to_seek", 0.05), clauses=clauses)) == Decision("answer", ("cost",))


@pytest.mark.unit
def test_crisis_and_dialogue_intents_are_left_to_the_rules() -> None:
    assert decide(parse_data(("crisis", 1.0))).kind == "crisis"
    assert decide(parse_data(("tell_me_more", 0.9))).kind == "other"


# --- the scoring of replies -----------------------------------------------------------


@pytest.mark.unit
def test_scoring_counts_reach_and_wrong_answers() -> None:
    assert score_one("cost", Decision("clarify", candidates=("cost", "finding_therapist"))).reach == 1
    assert score_one("cost", Decision("clarify", candidates=("cost",))).strict == 0
    assert score_one("cost", Decision("answer", ("when_to_seek",))).wrong == 1
    assert score_one("out_of_scope_mh", Decision("answer", ("therapy_types",))).wrong == 1
    assert score_one("out_of_scope_mh", Decision("out_of_scope")).strict == 1
    both = Decision("compound", ("session_length", "cost"))
    assert score_one("compound:session_length+cost", both).strict == 1
    assert score_one("compound:session_length+cost", Decision("answer", ("cost",))).strict == 0


# --- the action ---------------------------------------------------------------------


def run_action(latest: Dict[str, Any], domain: Dict[str, Any]) -> tuple[List[Dict[str, Any]], list]:
    slots = {"topic": None, "variant": None, "region": None, "crisis_kind": None}
    tracker = Tracker("tester", slots, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = ActionAnswerTopic().run(dispatcher, tracker, domain)
    return dispatcher.messages, events


@pytest.mark.unit
def test_action_asks_with_buttons_and_a_clarify_payload(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    messages, events = run_action(
        parse_data(("cost", 0.41), ("finding_therapist", 0.38), ("greet", 0.1)), domain_dict
    )
    assert len(messages) == 1 and events == []
    assert messages[0]["text"] == CLARIFY_TEXT
    assert messages[0]["custom"] == {"topic": "clarify", "candidates": ["cost", "finding_therapist"]}
    assert [b["payload"] for b in messages[0]["buttons"]] == [topic_payload("cost"), topic_payload("finding_therapist")]
    assert [b["title"] for b in messages[0]["buttons"]] == [kb.topic("cost").title, kb.topic("finding_therapist").title]


@pytest.mark.unit
def test_action_answers_both_questions_each_with_its_topic(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    clauses = [ranking(("session_length", 0.8), ("cost", 0.1)), ranking(("cost", 0.75), ("session_length", 0.1))]
    messages, events = run_action(parse_data(("session_length", 0.45), ("cost", 0.4), clauses=clauses), domain_dict)
    assert [m["custom"]["topic"] for m in messages] == ["session_length", "cost"]
    assert [m["text"] for m in messages] == [kb.topic("session_length").short, kb.topic("cost").short]
    assert SlotSet("topic", "cost") in events


@pytest.mark.unit
def test_action_below_the_floor_says_out_of_scope_with_topic_buttons(
    kb: KnowledgeBase, domain_dict: Dict[str, Any]
) -> None:
    messages, _ = run_action(parse_data(("therapy_types", 0.15), ("conditions", 0.14)), domain_dict)
    assert messages[0]["custom"]["topic"] == "out_of_scope"
    assert messages[0]["text"] == kb.topic("out_of_scope").short
    assert len(messages[0]["buttons"]) >= 2


@pytest.mark.unit
def test_action_answers_a_sure_question(kb: KnowledgeBase, domain_dict: Dict[str, Any]) -> None:
    messages, events = run_action(parse_data(("confidentiality", 0.9), ("cost", 0.02)), domain_dict)
    assert messages[0]["text"] == kb.topic("confidentiality").short
    assert SlotSet("topic", "confidentiality") in events


# --- finding the questions ------------------------------------------------------------


@pytest.mark.unit
def test_clauses_split_two_questions_in_one_sentence() -> None:
    assert question_clauses("how long is a session and what does it cost?") == [
        "how long is a session", "what does it cost?"
    ]
    assert question_clauses("I want therapy and I want it now") == []
    assert question_clauses("how long is a session") == []


@pytest.mark.unit
def test_a_story_is_read_by_its_question() -> None:
    text = "My husband died in the spring. I keep busy with the garden. Is it normal to want help now?"
    assert asked_text(text) == "Is it normal to want help now?"
    assert asked_text("how long is a session?") is None


# --- the content --------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("topic_id", KNOWLEDGE_TOPICS)
def test_no_answer_starts_with_a_bare_yes_or_no(kb: KnowledgeBase, topic_id: str) -> None:
    """ "Yes, with exceptions" to "will they tell my parents?" reads as "yes, they will tell"."""
    topic = kb.topic(topic_id)
    texts = [topic.short, topic.long, *topic.aspects.values()]
    texts += [v.short for v in topic.variants.values()] + [v.long for v in topic.variants.values()]
    for text in texts:
        assert not re.match(r"(often,?\s+)?(yes|no)\b", text, re.IGNORECASE), (topic_id, text[:40])


# --- through the trained NLU pipeline ------------------------------------------------


@pytest.mark.model
def test_compound_question_gets_both_topics(parse: Callable[[str], Dict[str, Any]]) -> None:
    decision = decide(parse("How long is a therapy session and how much does it cost?"))
    assert decision == Decision("compound", ("session_length", "cost"))


@pytest.mark.model
def test_long_message_is_classified_by_its_question(parse: Callable[[str], Dict[str, Any]]) -> None:
    text = ("I have been feeling low since I lost my job in the summer. My sister thinks I should talk to "
            "someone and my partner agrees. I have never done anything like this and money is tight now. "
            "How much does therapy cost?")
    data = parse(text)
    assert data["intent"]["name"] == "cost"
    assert decide(data).topics == ("cost",)


@pytest.mark.model
def test_out_of_scope_mental_health_question_gets_no_topic_answer(parse: Callable[[str], Dict[str, Any]]) -> None:
    assert decide(parse("what is borderline personality disorder")).kind in ("out_of_scope", "clarify")

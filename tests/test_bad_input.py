"""Bad input through the REST channel, and the length and rate limits (bot/channels/limits.py).

Every odd message gets a kind reply (or a JSON 400 for a malformed request), the server
keeps serving, and the crisis reply survives both limits.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from bot.channels.limits import (
    MAX_MESSAGE_CHARS,
    SLOW_DOWN_TEXT,
    TOO_LONG_TEXT,
    SenderRateLimiter,
    admit,
    rate_limit_per_minute,
)
from tests.conftest import ServedBot
from tests.support import RestClient, post_json, topics_of

CRISIS = "i want to kill myself"
FILLER = "I have been reading about therapy and wondering about many things. "


def _sender() -> str:
    return f"bad-{uuid.uuid4().hex[:10]}"


# --- the limits as pure logic ------------------------------------------------------------


@pytest.mark.unit
def test_rate_limiter_allows_the_limit_per_minute_then_refuses() -> None:
    limiter = SenderRateLimiter(per_minute=3)
    assert [limiter.allow("a", now=t) for t in (0.0, 1.0, 2.0, 3.0)] == [True, True, True, False]
    assert limiter.allow("b", now=3.0), "senders are limited separately"
    assert limiter.allow("a", now=60.5), "the window slides: the message at t=0 has expired"


@pytest.mark.unit
def test_rate_limiter_forgets_the_least_recent_senders() -> None:
    limiter = SenderRateLimiter(per_minute=1, max_senders=2)
    assert limiter.allow("a", now=0.0) and limiter.allow("b", now=0.0) and limiter.allow("c", now=0.0)
    assert limiter.allow("a", now=1.0), "'a' was evicted, so it starts afresh"
    assert not limiter.allow("c", now=1.0)


@pytest.mark.unit
@pytest.mark.parametrize("value, expected", [("5", 5), ("0", 30), ("-2", 30), ("many", 30), (None, 30)])
def test_rate_limit_setting(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int) -> None:
    if value is None:
        monkeypatch.delenv("RATE_LIMIT_PER_MINUTE", raising=False)
    else:
        monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", value)
    assert rate_limit_per_minute() == expected


@pytest.mark.model
def test_an_over_long_question_is_not_passed_on() -> None:
    admission = admit(_sender(), FILLER * 2_000, {"region": "GB"})
    assert admission.text is None
    assert admission.reply is not None
    assert admission.reply[0]["custom"] == {"topic": "too_long", "region": "GB"}
    assert "116 123" in admission.reply[0]["text"]


@pytest.mark.model
def test_an_over_long_message_with_risk_in_the_middle_is_passed_on_reduced() -> None:
    text = FILLER * 800 + CRISIS + ". " + FILLER * 800
    admission = admit(_sender(), text, None)
    assert admission.reply is None and admission.text is not None
    assert CRISIS in admission.text
    assert len(admission.text) < len(text) / 2


# --- through the running bot -----------------------------------------------------------


@pytest.mark.service
@pytest.mark.parametrize(
    "message",
    [
        "",
        "   \t\n ",
        "🙂🙂🙂",
        "😢",
        "مرحبا، كم مدة جلسة العلاج؟",
        "שלום, מה קורה בפגישה הראשונה?",
        "<script>alert('x')</script>",
        "<b>how long is a session?</b>",
        "\x00\x01\x02 \x1b[31m",
        "\ud83d",
        "/restart",
        "/session_start",
        '/greet{"x":1}',
        '/first_session{"therapy_type": "<img src=x>"}',
        "/",
        "{}",
        "a" * MAX_MESSAGE_CHARS,
    ],
)
def test_odd_messages_get_a_kind_reply(served_bot: ServedBot, message: str) -> None:
    reply = RestClient(served_bot.base_url, _sender()).say(message)
    assert reply, "every message is answered"
    assert all(isinstance(m.get("text"), str) and m["text"].strip() for m in reply)
    assert "crisis" not in topics_of(reply), "none of these messages shows risk"


@pytest.mark.service
def test_a_typed_crisis_payload_cannot_set_slots(served_bot: ServedBot) -> None:
    """``/crisis{...}`` is read as words (which may ask for help), never as intent and slots."""
    forged = RestClient(served_bot.base_url, _sender()).say('/crisis{"crisis_kind": "child_abuse", "region": "GB"}')
    customs = [m.get("custom") or {} for m in forged]
    assert customs and all(c.get("region", "US") == "US" and c.get("kind") != "child_abuse" for c in customs)
    assert "116 123" not in str(forged), "the forged region did not pick the UK lines"


@pytest.mark.service
def test_a_100000_character_message_gets_the_length_reply(served_bot: ServedBot) -> None:
    reply = RestClient(served_bot.base_url, _sender()).say((FILLER * 1_500)[:100_000])
    assert len(reply) == 1
    assert reply[0]["custom"]["topic"] == "too_long"
    assert TOO_LONG_TEXT in reply[0]["text"] and "988" in reply[0]["text"]


@pytest.mark.service
def test_a_100000_character_message_with_risk_gets_the_crisis_reply(served_bot: ServedBot) -> None:
    text = (FILLER * 700)[:50_000] + " " + CRISIS + ". " + (FILLER * 700)[:50_000]
    reply = RestClient(served_bot.base_url, _sender()).say(text)
    assert topics_of(reply)[0] == "crisis" and "988" in reply[0]["text"]


@pytest.mark.service
def test_a_flood_from_one_sender_is_slowed_but_crisis_still_answered(served_bot: ServedBot) -> None:
    bot = RestClient(served_bot.base_url, _sender())
    topics = [topics_of(bot.say("how long is a session?"))[0] for _ in range(rate_limit_per_minute() + 3)]
    assert topics[: rate_limit_per_minute()] == ["session_length"] * rate_limit_per_minute()
    assert topics[-1] == "rate_limited"
    slowed = bot.say("what is cbt?")
    assert SLOW_DOWN_TEXT in slowed[0]["text"] and "988" in slowed[0]["text"]
    assert topics_of(bot.say(CRISIS))[0] == "crisis"
    other = RestClient(served_bot.base_url, _sender())
    assert topics_of(other.say("how long is a session?")) == ["session_length"], "other senders are unaffected"


@pytest.mark.service
@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe\xfa not utf-8",
        b'{"sender": "x", "message": "\xff\xfe"}',
        b'{"sender": "x", "message": ',
        b"",
    ],
)
def test_undecodable_bodies_get_a_json_400(served_bot: ServedBot, raw: bytes) -> None:
    status, reply = post_json(f"{served_bot.base_url}/webhooks/rest/webhook", raw)
    assert status == 400 and isinstance(reply, dict) and reply["error"]


@pytest.mark.service
@pytest.mark.parametrize(
    "body",
    [
        {"message": "hi"},
        {"sender": "x"},
        {"sender": 12, "message": "hi"},
        {"sender": "x", "message": ["hi"]},
        {"sender": "x", "message": None},
        {"sender": "   ", "message": "hi"},
        {"sender": "x" * 129, "message": "hi"},
        ["sender", "message"],
        "hello",
    ],
)
def test_wrong_fields_get_a_json_400_and_the_server_keeps_serving(served_bot: ServedBot, body: object) -> None:
    status, reply = post_json(f"{served_bot.base_url}/webhooks/rest/webhook", body)
    assert status == 400 and "error" in reply
    assert topics_of(RestClient(served_bot.base_url, _sender()).say("what is cbt?")) == ["therapy_types"]


@pytest.mark.service
def test_any_sender_id_up_to_the_limit_works(served_bot: ServedBot) -> None:
    for sender in ("x" * 128, "ünïcødé-séndér", "1", "a b c", "<script>"):
        reply = RestClient(served_bot.base_url, sender).say("how long is a session?")
        assert topics_of(reply) == ["session_length"]


@pytest.mark.service
def test_replies_are_json_not_html(served_bot: ServedBot) -> None:
    request = urllib.request.Request(
        f"{served_bot.base_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": _sender(), "message": "<script>alert(1)</script>"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        assert "<script>" not in response.read().decode("utf-8")

"""The Telegram channel, end to end against a fake Bot API on loopback, and its pieces.

The bot is started by ``scripts/run.sh`` (as ``make run`` starts it) with
``TELEGRAM_API_URL`` pointing at ``tests/fake_telegram.py``; updates are posted to the
webhook route as Telegram would post them, and the replies are read from the calls the
fake API recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import urllib.error
import urllib.request
from typing import Any, Dict, Iterator, List

import pytest
from sanic import Sanic

from actions.knowledge import KnowledgeBase
from bot.channels.limits import TOO_LONG_TEXT
from bot.channels.rest import UNAVAILABLE_TEXT
from bot.channels.telegram import (
    EMPTY_REPLY,
    EXPIRED_BUTTON_NOTE,
    MAX_CALLBACK_DATA_BYTES,
    NON_TEXT_REPLY,
    SECRET_HEADER,
    BotApi,
    CallbackKeys,
    TelegramApiError,
    TelegramInput,
    derive_secret,
    message_text,
    outgoing_messages,
    split_text,
    utf16_length,
)
from bot.crisis.regions import REGIONS
from tests.conftest import ServedBot, start_bot, stop_bot
from tests.fake_telegram import ApiCall, FakeTelegramApi
from tests.support import OUTPUT

TOKEN = "123456:FAKE-token-for-tests"
WEBHOOK_URL = "https://bot.example.invalid/webhooks/telegram/webhook"
US_BANNER = REGIONS["US"].banner
#: A word that appears in messages sent by these tests and must never reach the log.
MARKER = "quokkapelican"

_ids = itertools.count(1000)


class TelegramHarness:
    """The served bot, the fake API it talks to, and helpers to post updates."""

    def __init__(self, bot: ServedBot, api: FakeTelegramApi) -> None:
        self.bot = bot
        self.api = api
        self.webhook = f"{bot.base_url}/webhooks/telegram/webhook"
        self.registration = api.calls("setWebhook")[-1].params
        #: Telegram sends back the secret the bot registered, so the tests do too.
        self.secret = self.registration["secret_token"]

    def post(self, body: Any, secret: str | None = None) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", SECRET_HEADER: self.secret if secret is None else secret}
        request = urllib.request.Request(self.webhook, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def say(self, chat_id: int, text: str) -> List[ApiCall]:
        """Posts a text message and returns the sendMessage calls it produced."""
        status, body = self.post(message_update(chat_id, text=text))
        assert status == 200, (status, body)
        return sent_to(self.api, chat_id)


def message_update(chat_id: int, key: str = "message", **content: Any) -> Dict[str, Any]:
    message = {"message_id": next(_ids), "date": 1_700_000_000, "chat": {"id": chat_id, "type": "private"},
               "from": {"id": chat_id, "is_bot": False, "first_name": "Test"}, **content}
    return {"update_id": next(_ids), key: message}


def callback_update(chat_id: int, data: str, query_id: str) -> Dict[str, Any]:
    return {"update_id": next(_ids), "callback_query": {
        "id": query_id, "chat_instance": "ci", "data": data,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test"},
        "message": {"message_id": next(_ids), "date": 1_700_000_000, "chat": {"id": chat_id, "type": "private"},
                    "text": "an earlier answer"}}}


def sent_to(api: FakeTelegramApi, chat_id: int) -> List[ApiCall]:
    return [call for call in api.calls("sendMessage") if call.params["chat_id"] == chat_id]


def texts(calls: List[ApiCall]) -> List[str]:
    return [call.params["text"] for call in calls]


def new_chat() -> int:
    return next(_ids)


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramHarness]:
    api = FakeTelegramApi(TOKEN).start()
    bot = start_bot(
        "telegram.log", TELEGRAM_TOKEN=TOKEN, TELEGRAM_WEBHOOK_URL=WEBHOOK_URL, TELEGRAM_API_URL=api.url,
        TELEGRAM_SECRET_TOKEN="", CRISIS_REGION="US",
    )
    try:
        api.wait_for(lambda: bool(api.calls("setWebhook")), timeout=120)
        yield TelegramHarness(bot, api)
    finally:
        stop_bot(bot)
        api.stop()


@pytest.fixture()
def tg(telegram: TelegramHarness) -> Iterator[TelegramHarness]:
    telegram.api.failures.clear()
    yield telegram
    telegram.api.failures.clear()


# --- end to end -------------------------------------------------------------------


@pytest.mark.service
def test_unsure_question_gets_did_you_mean_buttons(tg: TelegramHarness, kb: KnowledgeBase) -> None:
    chat = new_chat()
    first = tg.say(chat, "therapy sessions")[0].params
    keyboard = first["reply_markup"]["inline_keyboard"]
    assert 2 <= len(keyboard) <= 3
    assert first["text"].startswith("I am not sure which of these you mean")
    tg.api.clear()
    status, _ = tg.post(callback_update(chat, keyboard[0][0]["callback_data"], "q-clarify"))
    assert status == 200
    answered = kb.topic(keyboard[0][0]["callback_data"].lstrip("/"))
    assert texts(sent_to(tg.api, chat))[0].startswith(answered.short)


@pytest.mark.service
def test_two_questions_get_two_messages(tg: TelegramHarness, kb: KnowledgeBase) -> None:
    sent = tg.say(new_chat(), "How long is a therapy session and how much does it cost?")
    assert [c.params["text"].split("\n")[0] for c in sent[:2]] == [
        kb.topic("session_length").short.split("\n")[0], kb.topic("cost").short.split("\n")[0]
    ]


@pytest.mark.service
def test_webhook_is_registered_with_a_derived_secret(tg: TelegramHarness) -> None:
    registration = tg.registration
    assert registration["url"] == WEBHOOK_URL
    assert registration["secret_token"] == derive_secret(TOKEN)
    assert set(registration["allowed_updates"]) == {"message", "edited_message", "callback_query"}


@pytest.mark.service
def test_question_gets_the_answer_with_sources_and_buttons(tg: TelegramHarness, kb: KnowledgeBase) -> None:
    topic = kb.topic("session_length")
    sent = tg.say(new_chat(), "how long is a session?")
    assert sent, "the question is answered"
    first = sent[0].params
    assert first["text"].startswith(topic.short)
    for title in kb.source_titles_of(topic):
        assert f"• {title}" in first["text"]
    assert "parse_mode" not in first
    keyboard = first["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == [kb.topic(r).title for r in topic.related]
    assert all(len(row[0]["callback_data"].encode()) <= MAX_CALLBACK_DATA_BYTES for row in keyboard)


@pytest.mark.service
def test_button_press_is_answered_like_the_question(tg: TelegramHarness, kb: KnowledgeBase) -> None:
    chat = new_chat()
    related = kb.topic(kb.topic("session_length").related[0])
    first = tg.say(chat, "how long is a session?")[0].params
    tg.api.clear()
    status, _ = tg.post(callback_update(chat, first["reply_markup"]["inline_keyboard"][0][0]["callback_data"], "q-1"))
    assert status == 200
    assert [c.params for c in tg.api.calls("answerCallbackQuery")] == [{"callback_query_id": "q-1"}]
    assert texts(sent_to(tg.api, chat))[0].startswith(related.short)


@pytest.mark.service
def test_crisis_phrase_gets_the_crisis_resources(tg: TelegramHarness, domain_dict: Dict[str, Any]) -> None:
    crisis_text = next(
        r["text"] for r in domain_dict["responses"]["utter_crisis"]
        if {"type": "slot", "name": "region", "value": "US"} in r["condition"]
        and {"type": "slot", "name": "crisis_kind", "value": "self"} in r["condition"]
    )
    calls = tg.say(new_chat(), "I want to kill myself")
    sent = texts(calls)
    assert sent[0] == f"{crisis_text}\n\nCall: 988 · Text: 988 · Emergency: 911"
    assert all(number in sent[0] for number in REGIONS["US"].required_numbers)
    # The region's online chat is one tap away (Telegram buttons take only http(s) links).
    assert calls[0].params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Chat at 988lifeline.org", "url": "https://988lifeline.org/"}]]
    }


@pytest.mark.service
def test_a_forged_button_cannot_skip_the_crisis_guard(tg: TelegramHarness) -> None:
    chat = new_chat()
    status, _ = tg.post(callback_update(chat, "/greet I want to end my life", "q-2"))
    assert status == 200
    sent = texts(sent_to(tg.api, chat))
    assert sent and "988" in sent[0] and "911" in sent[0], sent


@pytest.mark.service
def test_a_button_this_server_does_not_know_stops_the_spinner_with_a_note(tg: TelegramHarness) -> None:
    chat = new_chat()
    status, _ = tg.post(callback_update(chat, "#AAAAAAAAAAAAAAAA", "q-3"))
    assert status == 200
    answers = [c.params for c in tg.api.calls("answerCallbackQuery") if c.params["callback_query_id"] == "q-3"]
    assert answers == [{"callback_query_id": "q-3", "text": EXPIRED_BUTTON_NOTE}]
    assert sent_to(tg.api, chat) == []


@pytest.mark.service
def test_start_command_is_a_greeting(tg: TelegramHarness, kb: KnowledgeBase) -> None:
    sent = texts(tg.say(new_chat(), "/start"))
    assert sent[0].startswith(kb.topic("greet").short)
    assert "988" in sent[-1]


@pytest.mark.service
@pytest.mark.parametrize("secret", ["", "wrong-secret", derive_secret("another:token")],
                         ids=["missing", "wrong", "another-bot"])
def test_a_wrong_or_missing_secret_gets_403(tg: TelegramHarness, secret: str) -> None:
    chat = new_chat()
    status, body = tg.post(message_update(chat, text="how long is a session?"), secret=secret)
    assert status == 403 and body["error"]
    assert sent_to(tg.api, chat) == []


@pytest.mark.service
@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_an_update_gets_a_json_400(tg: TelegramHarness, body: bytes) -> None:
    status, reply = tg.post(body)
    assert status == 400 and reply["error"]


@pytest.mark.service
@pytest.mark.parametrize("update", [
    {"update_id": 1},
    {"update_id": 2, "poll": {"id": "p"}},
    {"update_id": 3, "message": "not an object"},
    {"update_id": 4, "message": {"text": "no chat here"}},
    {"update_id": 5, "message": {"chat": {"id": 99}, "new_chat_members": [{"id": 1}]}},
    {"update_id": 6, "callback_query": {"id": "q-x"}},
])
def test_updates_without_anything_to_answer_are_acknowledged(tg: TelegramHarness, update: Dict[str, Any]) -> None:
    tg.api.clear()
    status, body = tg.post(update)
    assert status == 200 and body["ok"] is True
    assert tg.api.calls("sendMessage") == []


@pytest.mark.service
@pytest.mark.parametrize("content", [{"sticker": {"file_id": "s"}}, {"photo": [{"file_id": "p"}]},
                                     {"voice": {"file_id": "v"}}])
def test_non_text_messages_get_one_polite_line(tg: TelegramHarness, content: Dict[str, Any]) -> None:
    chat = new_chat()
    status, _ = tg.post(message_update(chat, **content))
    assert status == 200
    assert texts(sent_to(tg.api, chat)) == [f"{NON_TEXT_REPLY} {US_BANNER}"]


@pytest.mark.service
def test_a_photo_caption_is_read_as_words(tg: TelegramHarness) -> None:
    chat = new_chat()
    status, _ = tg.post(message_update(chat, photo=[{"file_id": "p"}], caption="I want to kill myself"))
    assert status == 200
    assert "988" in texts(sent_to(tg.api, chat))[0]


@pytest.mark.service
@pytest.mark.parametrize("text, reply", [("", EMPTY_REPLY), ("   \n ", EMPTY_REPLY), ("word " * 1000, TOO_LONG_TEXT)],
                         ids=["empty", "whitespace", "too-long"])
def test_empty_and_overlong_text_get_a_kind_reply(tg: TelegramHarness, text: str, reply: str) -> None:
    assert texts(tg.say(new_chat(), text)) == [f"{reply} {US_BANNER}"]


@pytest.mark.service
def test_edits_are_answered_only_when_they_show_risk(tg: TelegramHarness) -> None:
    chat = new_chat()
    status, body = tg.post(message_update(chat, key="edited_message", text="how long is a sesion?"))
    assert status == 200 and body["handled"] == "edit-ignored"
    assert sent_to(tg.api, chat) == []
    status, body = tg.post(message_update(chat, key="edited_message", text="how long is a session? I want to die"))
    assert status == 200 and body["handled"] == "edit-answered"
    assert "988" in texts(sent_to(tg.api, chat))[0]


@pytest.mark.service
def test_a_failing_bot_api_is_survived_and_acknowledged(tg: TelegramHarness, kb: KnowledgeBase) -> None:
    tg.api.failures["sendMessage"] = (403, "Forbidden: bot was blocked by the user")
    chat = new_chat()
    status, body = tg.post(message_update(chat, text="how long is a session?"))
    assert status == 200 and body["ok"] is True
    assert sent_to(tg.api, chat), "the reply was attempted"
    tg.api.failures.clear()
    tg.api.clear()
    assert texts(tg.say(chat, "how often are sessions?"))[0].startswith(kb.topic("session_frequency").short)


@pytest.mark.service
def test_message_text_is_not_logged(tg: TelegramHarness) -> None:
    chat = new_chat()
    tg.say(chat, f"is {MARKER} therapy any good?")
    tg.post(callback_update(chat, f"{MARKER} button", "q-4"))
    tg.post(message_update(chat, key="edited_message", text=f"{MARKER} I want to die"))
    log = (OUTPUT / "telegram.log").read_text(encoding="utf-8", errors="replace")
    assert "Telegram webhook registered" in log
    assert MARKER not in log
    assert TOKEN not in log


# --- the pieces ---------------------------------------------------------------------


@pytest.mark.unit
def test_long_text_is_split_within_telegram_limits_without_losing_words() -> None:
    text = " ".join(f"word{i} 🙂" for i in range(2000)) + "\n\nlast paragraph"
    parts = split_text(text)
    assert len(parts) > 1
    assert all(0 < utf16_length(part) <= 4096 for part in parts)
    assert " ".join(parts).split() == text.split()


@pytest.mark.unit
def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    parts = split_text("x" * 9000)
    assert [len(p) for p in parts] == [4096, 4096, 808]


@pytest.mark.unit
def test_the_keyboard_goes_on_the_last_part_of_a_long_message() -> None:
    message = {"text": "a " * 5000, "buttons": [{"title": "More", "payload": "/tell_me_more"}]}
    calls = outgoing_messages(7, message, CallbackKeys())
    assert len(calls) == 3
    assert [("reply_markup" in c) for c in calls] == [False, False, True]
    assert calls[-1]["reply_markup"] == {"inline_keyboard": [[{"text": "More", "callback_data": "/tell_me_more"}]]}


@pytest.mark.unit
def test_sources_become_plain_lines() -> None:
    text = message_text({"text": "Answer.", "custom": {"sources": [
        "A leaflet", {"title": "An article", "url": "https://example.org/a"}, {"title": "A book"}, 5]}})
    assert text == "Answer.\n\nSources:\n• A leaflet\n• An article (https://example.org/a)\n• A book"


@pytest.mark.unit
def test_payloads_that_fit_are_sent_as_they_are_and_long_ones_as_short_keys() -> None:
    keys = CallbackKeys()
    short = '/therapy_types{"therapy_type":"motivational_interviewing"}'
    assert keys.encode(short) == short and keys.decode(short) == short
    long = '/therapy_formats{"therapy_format":"' + "x" * 80 + '"}'
    key = keys.encode(long)
    assert len(key.encode()) <= MAX_CALLBACK_DATA_BYTES and key != long
    assert keys.decode(key) == long
    assert CallbackKeys().decode(key) is None, "another process does not know the key"
    assert keys.decode("#" + "A" * 16) is None


@pytest.mark.unit
def test_remembered_keys_are_bounded() -> None:
    keys = CallbackKeys(capacity=2)
    first, *_ = [keys.encode("/" + c * 70) for c in "abc"]
    assert keys.decode(first) is None
    assert keys.decode(keys.encode("/" + "c" * 70)) == "/" + "c" * 70


@pytest.mark.unit
def test_the_derived_secret_is_stable_per_token_and_valid_for_telegram() -> None:
    secret = derive_secret(TOKEN)
    assert secret == derive_secret(TOKEN) != derive_secret(TOKEN + "x")
    assert TOKEN not in secret and len(secret) == 64 and secret.isalnum()


@pytest.mark.unit
def test_an_explicit_secret_wins() -> None:
    channel = TelegramInput.from_environment(
        {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL, "TELEGRAM_SECRET_TOKEN": "shared_secret-1"})
    assert channel.enabled and channel.secret == "shared_secret-1"


@pytest.mark.unit
@pytest.mark.parametrize("environ, level", [
    ({}, logging.INFO),
    ({"TELEGRAM_WEBHOOK_URL": WEBHOOK_URL}, logging.INFO),
    ({"TELEGRAM_TOKEN": TOKEN}, logging.WARNING),
    ({"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL, "TELEGRAM_SECRET_TOKEN": "no spaces!"},
     logging.ERROR),
])
def test_without_full_settings_the_channel_is_off_and_serves_nothing(
    environ: Dict[str, str], level: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.channels.telegram"):
        channel = TelegramInput.from_environment(environ)
    assert not channel.enabled
    records = [r for r in caplog.records if r.name == "bot.channels.telegram"]
    assert len(records) == 1 and records[0].levelno == level and "Telegram channel is off" in records[0].message
    assert telegram_routes(channel, f"telegram_off_{level}_{len(environ)}") == []


@pytest.mark.unit
def test_a_configured_channel_serves_its_webhook() -> None:
    channel = TelegramInput.from_environment({"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL})
    assert channel.enabled and channel.secret == derive_secret(TOKEN)
    assert "webhooks/telegram/webhook" in telegram_routes(channel, "telegram_on")


def telegram_routes(channel: TelegramInput, app_name: str) -> List[str]:
    async def handler(_: Any) -> None:
        raise AssertionError("no message is handled here")

    app = Sanic(app_name)
    app.blueprint(channel.blueprint(handler), url_prefix="/webhooks/telegram")
    return [route.path for route in app.router.routes if "telegram" in route.path]


class RecordingApi(BotApi):
    """A Bot API client that records calls instead of making them."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", TOKEN)
        self.sent: List[tuple[str, Dict[str, Any]]] = []

    async def call_once(self, method: str, params: Any) -> Any:
        self.sent.append((method, dict(params)))
        return True


@pytest.mark.model
@pytest.mark.parametrize("outcome", ["raises", "says-nothing"])
def test_a_turn_without_a_reply_gets_the_unavailable_reply(outcome: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISIS_REGION", "GB")
    api = RecordingApi()
    channel = TelegramInput(api, WEBHOOK_URL, derive_secret(TOKEN))

    async def on_new_message(_: Any) -> None:
        if outcome == "raises":
            raise RuntimeError("the action server is down")

    update = message_update(42, text="how long is a session?")
    note = asyncio.run(channel._handle_update(update, api, on_new_message))
    assert note == "message"
    assert [(m, p["chat_id"], p["text"]) for m, p in api.sent] == [
        ("sendMessage", 42, f"{UNAVAILABLE_TEXT} {REGIONS['GB'].banner}")]


@pytest.fixture()
def fake_api() -> Iterator[FakeTelegramApi]:
    api = FakeTelegramApi(TOKEN).start()
    yield api
    api.stop()


@pytest.mark.unit
def test_the_api_client_works_in_every_event_loop_it_is_used_from(fake_api: FakeTelegramApi) -> None:
    client = BotApi(fake_api.url, TOKEN)
    # Rasa's stock channel failed here: its session stayed bound to the first, closed loop.
    assert asyncio.run(client.call("getMe", {})) is True
    assert asyncio.run(client.call("getMe", {})) is True
    assert [c.method for c in fake_api.calls()] == ["getMe", "getMe"]


@pytest.mark.unit
def test_rate_limits_are_retried_and_refusals_are_not(fake_api: FakeTelegramApi) -> None:
    client = BotApi(fake_api.url, TOKEN)

    async def send() -> None:
        try:
            await client.call("sendMessage", {"chat_id": 1, "text": "hi"})
        finally:
            await client.close()

    fake_api.failures["sendMessage"] = (429, "Too Many Requests: retry after 1")
    with pytest.raises(TelegramApiError, match="429"):
        asyncio.run(send())
    assert len(fake_api.calls("sendMessage")) == 3
    fake_api.clear()
    fake_api.failures["sendMessage"] = (400, "Bad Request: chat not found")
    with pytest.raises(TelegramApiError, match="chat not found"):
        asyncio.run(send())
    assert len(fake_api.calls("sendMessage")) == 1


@pytest.mark.unit
def test_a_refused_webhook_is_reported_once(fake_api: FakeTelegramApi, caplog: pytest.LogCaptureFixture) -> None:
    fake_api.failures["setWebhook"] = (400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
    channel = TelegramInput.from_environment(
        {"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "http://insecure.invalid/", "TELEGRAM_API_URL": fake_api.url})

    async def register() -> None:
        await channel._set_webhook(channel.api)
        await channel.api.close()

    with caplog.at_level(logging.INFO, logger="bot.channels.telegram"):
        asyncio.run(register())
    assert len(fake_api.calls("setWebhook")) == 1
    assert any(r.levelno == logging.ERROR and "not registered" in r.message for r in caplog.records)
    assert TOKEN not in caplog.text

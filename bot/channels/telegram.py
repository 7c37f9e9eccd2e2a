"""The Telegram channel: Bot API webhooks handled with plain aiohttp calls.

Rasa 3.6.21's own Telegram channel fails every update ("Event loop is closed") because
its client session is bound to a loop that no longer runs. This channel creates its
aiohttp session inside the running server loop and talks to the Bot API directly.

It is switched on by the environment, not by ``credentials.yml`` (Rasa refuses to start
when a ``${VAR}`` there is unset, and ``make run`` must work without Telegram):

* ``TELEGRAM_TOKEN`` and ``TELEGRAM_WEBHOOK_URL`` turn it on; without them no route is
  served, no webhook is registered and one log line says the channel is off.
* ``TELEGRAM_SECRET_TOKEN`` is the webhook secret; when unset it is derived from the bot
  token with HMAC, so every replica behind one URL agrees on it without extra settings.
* ``TELEGRAM_API_URL`` is the Bot API base (default ``https://api.telegram.org``); the
  tests point it at a fake API on loopback.

Every update answered here goes through the same path as typed text: a button press
sends its payload as the message, and the crisis guard in the NLU pipeline lets only
exact payloads the assistant itself sends act as intents. Message text is never logged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Sequence

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.fastpath import WholeMessageOutputChannel, respond, unavailable_reply
from bot.crisis.regions import REGIONS, crisis_links, deployment_region
from bot.crisis.screening import screen_async

logger = logging.getLogger(__name__)

TOKEN_ENV = "TELEGRAM_TOKEN"
WEBHOOK_URL_ENV = "TELEGRAM_WEBHOOK_URL"
SECRET_ENV = "TELEGRAM_SECRET_TOKEN"
API_URL_ENV = "TELEGRAM_API_URL"
DEFAULT_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Telegram accepts 1-256 characters from this set as a webhook secret.
_VALID_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_SECRET_DERIVATION_LABEL = b"therapy-bot telegram webhook secret v1"

#: Telegram's limits: message text (in UTF-16 code units) and callback_data (in bytes).
MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_DATA_BYTES = 64
#: Only these update types are requested from Telegram; anything else is acknowledged.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
#: Message fields that mean a person sent something other than words.
NON_TEXT_CONTENT = (
    "sticker", "photo", "voice", "video", "video_note", "audio", "document",
    "animation", "location", "venue", "contact", "poll", "dice", "story",
)
#: Telegram sends "/start" when someone opens the bot; it means hello.
_START_COMMAND = re.compile(r"^/start(@\w+)?(\s|$)")
GREETING_PAYLOAD = "/greet"

NON_TEXT_REPLY = "I can only read typed words, so please write your question and I'll do my best to help."
EMPTY_REPLY = "That message came through empty. What would you like to know about therapy?"
EXPIRED_BUTTON_NOTE = "This button no longer works. Please type your question instead."
SOURCES_HEADING = "Sources:"
BUTTONS_ONLY_TEXT = "You could also ask about:"

_API_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)
_SEND_ATTEMPTS = 3
_MAX_RETRY_AFTER_SECONDS = 10.0
_WEBHOOK_ATTEMPTS = 5
#: Digest keys of over-long button payloads this process has sent (see ``CallbackKeys``).
_MAX_REMEMBERED_KEYS = 10_000


class TelegramApiError(Exception):
    """A Bot API call failed; carries what is safe to log (never the token or text)."""

    def __init__(self, method: str, description: str, retry_after: float | None = None,
                 retryable: bool = False) -> None:
        super().__init__(f"{method}: {description}")
        self.retry_after = retry_after
        self.retryable = retryable


def derive_secret(bot_token: str) -> str:
    """The webhook secret when ``TELEGRAM_SECRET_TOKEN`` is unset.

    Derived with HMAC so every replica that has the bot token computes the same secret,
    yet the secret does not reveal the token to anyone who sees it in a request.
    """
    return hmac.new(bot_token.encode("utf-8"), _SECRET_DERIVATION_LABEL, hashlib.sha256).hexdigest()


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units (an emoji may count twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE_LENGTH) -> List[str]:
    """``text`` cut into parts Telegram accepts, at paragraph, line or word breaks if possible."""
    parts: List[str] = []
    rest = text
    while utf16_length(rest) > limit:
        end, used = 0, 0
        while end < len(rest) and used + utf16_length(rest[end]) <= limit:
            used += utf16_length(rest[end])
            end += 1
        window = rest[:end]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        cut = cut if cut > 0 else end
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest.strip():
        parts.append(rest)
    return parts


def _source_line(source: Any) -> str | None:
    if isinstance(source, str) and source.strip():
        return f"• {source.strip()}"
    if isinstance(source, Mapping) and isinstance(source.get("title"), str):
        url = source.get("url")
        return f"• {source['title']} ({url})" if isinstance(url, str) and url else f"• {source['title']}"
    return None


def message_text(message: Mapping[str, Any]) -> str:
    """The text of one bot message with its sources written out as plain lines.

    No ``parse_mode`` is used when sending, so nothing in the curated text or the
    titles can be misread as markup.
    """
    text = message.get("text") or ""
    custom = message.get("custom") if isinstance(message.get("custom"), Mapping) else {}
    lines = [line for line in map(_source_line, custom.get("sources") or []) if line]
    if lines:
        text = "\n\n".join(part for part in (text, "\n".join([SOURCES_HEADING, *lines])) if part)
    return text


class CallbackKeys:
    """Maps button payloads to Telegram ``callback_data`` (at most 64 bytes) and back.

    A payload that fits is used as it is, so any replica can read it back. A longer one
    is replaced by a digest key that only this process remembers; pressing such a button
    after a restart or on another replica gets a note to type the question instead.
    """

    PREFIX = "#"

    def __init__(self, capacity: int = _MAX_REMEMBERED_KEYS) -> None:
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def encode(self, payload: str) -> str:
        """The ``callback_data`` for a button payload."""
        if len(payload.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES and not payload.startswith(self.PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode("utf-8")).digest()[:12]
        key = self.PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self._capacity:
            self._payloads.popitem(last=False)
        return key

    def decode(self, data: str) -> str | None:
        """The message a pressed button stands for, or ``None`` if the key is unknown."""
        if not data.startswith(self.PREFIX):
            return data
        return self._payloads.get(data)


def inline_keyboard(buttons: Sequence[Any], keys: CallbackKeys) -> Dict[str, Any] | None:
    """Rasa buttons as a Telegram inline keyboard, one button per row (titles are long)."""
    rows = [
        [{"text": button["title"], "callback_data": keys.encode(button["payload"])}]
        for button in buttons
        if isinstance(button, Mapping) and isinstance(button.get("title"), str)
        and isinstance(button.get("payload"), str) and button["payload"]
    ]
    return {"inline_keyboard": rows} if rows else None


#: Link kinds written out as a line of bare numbers, and the words before each.
_NUMBER_WORDS = {"call": "Call", "text": "Text"}


def crisis_links_of(message: Mapping[str, Any]) -> List[Dict[str, str]]:
    """The region links (bot/crisis/regions.yml) a crisis reply or crisis line carries."""
    custom = message.get("custom") if isinstance(message.get("custom"), Mapping) else {}
    if custom.get("topic") not in {"crisis", "crisis_line"}:
        return []
    links = custom.get("links")
    if not isinstance(links, list):
        links = crisis_links(custom.get("region"), custom.get("kind"))
    return [link for link in links if isinstance(link, Mapping) and isinstance(link.get("href"), str)]


def tappable_numbers(links: Sequence[Mapping[str, str]]) -> str:
    """One line of the numbers to call or text, each written as bare digits.

    The Bot API accepts only http(s) and tg: links in buttons and text links, so a number
    cannot be a ``tel:`` link on Telegram; Telegram apps offer to call or copy a bare
    number when it is tapped, which spaces inside the number would break.
    """
    parts = []
    for link in links:
        scheme, _, digits = link["href"].partition(":")
        digits = digits.split("?")[0]
        if scheme in ("tel", "sms") and digits.lstrip("+").isdigit():
            kind = "call" if scheme == "tel" else "text"
            words = "Emergency" if link.get("label", "").startswith("Emergency") else _NUMBER_WORDS[kind]
            parts.append(f"{words}: {digits}")
    return " · ".join(parts)


def chat_keyboard(links: Sequence[Mapping[str, str]]) -> Dict[str, Any] | None:
    """An inline URL button for each of the region's online chats."""
    rows = [
        [{"text": link.get("label") or "Chat online", "url": link["href"]}]
        for link in links
        if link.get("kind") == "chat" and link["href"].startswith("https://")
    ]
    return {"inline_keyboard": rows} if rows else None


def outgoing_messages(chat_id: int | str, message: Mapping[str, Any], keys: CallbackKeys) -> List[Dict[str, Any]]:
    """The sendMessage calls for one bot message; the keyboard goes on the last part.

    A crisis reply or crisis line also gets the region's numbers as a line of bare digits
    and its online chat as a URL button.
    """
    keyboard = inline_keyboard(message.get("buttons") or [], keys)
    links = crisis_links_of(message)
    if links:
        chat = chat_keyboard(links)
        if chat:
            keyboard = {"inline_keyboard": chat["inline_keyboard"] + (keyboard or {}).get("inline_keyboard", [])}
    text = message_text(message) or (BUTTONS_ONLY_TEXT if keyboard else "")
    numbers = tappable_numbers(links)
    if numbers:
        text = f"{text}\n\n{numbers}"
    calls = [
        {"chat_id": chat_id, "text": part, "link_preview_options": {"is_disabled": True}}
        for part in split_text(text)
    ]
    if calls and keyboard:
        calls[-1]["reply_markup"] = keyboard
    return calls


def with_crisis_line(text: str) -> str:
    """A reply the channel writes itself, ending with the deployment's crisis line.

    The person may be reaching out in a way the assistant cannot read (a voice note, a
    photo), so every such reply still says where to get help now.
    """
    return f"{text} {REGIONS[deployment_region()].banner}"


class TelegramOutputChannel(WholeMessageOutputChannel):
    """Collects whole bot messages; named so channel-specific responses could target it."""

    @classmethod
    def name(cls) -> str:
        return "telegram"


class BotApi:
    """A minimal Bot API client whose session lives in the loop that uses it."""

    def __init__(self, api_url: str, token: str) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}"
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(timeout=_API_TIMEOUT)
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Closes the session at server stop, so no connection outlives its loop."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def call_once(self, method: str, params: Mapping[str, Any]) -> Any:
        """One Bot API call; raises ``TelegramApiError`` without the URL (it holds the token)."""
        try:
            async with self._client().post(f"{self._base}/{method}", json=dict(params)) as reply:
                status = reply.status
                try:
                    body = await reply.json(content_type=None)
                except ValueError:
                    body = None
        except (aiohttp.ClientError, asyncio.TimeoutError) as problem:
            raise TelegramApiError(method, type(problem).__name__, retryable=True) from None
        if isinstance(body, dict) and body.get("ok"):
            return body.get("result")
        description = body.get("description") if isinstance(body, dict) else None
        parameters = (body.get("parameters") if isinstance(body, dict) else None) or {}
        retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
        raise TelegramApiError(
            method,
            f"HTTP {status}: {description or 'no description'}",
            retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None,
            retryable=status == 429 or status >= 500,
        )

    async def call(self, method: str, params: Mapping[str, Any], attempts: int = _SEND_ATTEMPTS) -> Any:
        """A Bot API call retried on network errors, 5xx and rate limits (429)."""
        attempt = 1
        while True:
            try:
                return await self.call_once(method, params)
            except TelegramApiError as problem:
                if not problem.retryable or attempt >= attempts:
                    raise
                pause = min(problem.retry_after or float(attempt), _MAX_RETRY_AFTER_SECONDS)
            await asyncio.sleep(pause)
            attempt += 1


def _json_error(status: int, reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def _acknowledge(note: str) -> HTTPResponse:
    """200 for every authenticated update: Telegram would resend anything else."""
    return response.json({"ok": True, "handled": note})


class TelegramInput(InputChannel):
    """``POST /webhooks/telegram/webhook``: the Bot API webhook, when configured."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> TelegramInput:
        """Reads the environment; ``credentials.yml`` only lists the channel."""
        return cls.from_environment(os.environ)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TelegramInput:
        """The channel configured by ``environ``; disabled (with a log line saying why) if incomplete."""
        token = environ.get(TOKEN_ENV, "").strip()
        webhook_url = environ.get(WEBHOOK_URL_ENV, "").strip()
        secret = environ.get(SECRET_ENV, "").strip()
        api_url = environ.get(API_URL_ENV, "").strip() or DEFAULT_API_URL
        if not token:
            logger.info("Telegram channel is off: %s is not set.", TOKEN_ENV)
            return cls(None)
        if not webhook_url:
            logger.warning("Telegram channel is off: %s is set but %s is not.", TOKEN_ENV, WEBHOOK_URL_ENV)
            return cls(None)
        if secret and not _VALID_SECRET.match(secret):
            logger.error(
                "Telegram channel is off: %s must be 1-256 characters from A-Z, a-z, 0-9, '_' and '-'.",
                SECRET_ENV,
            )
            return cls(None)
        return cls(BotApi(api_url, token), webhook_url, secret or derive_secret(token))

    def __init__(self, api: BotApi | None, webhook_url: str = "", secret: str = "") -> None:
        """``api`` is ``None`` for a disabled channel."""
        self.api = api
        self.webhook_url = webhook_url
        self.secret = secret
        self.keys = CallbackKeys()
        self._startup_tasks: set[asyncio.Task] = set()

    @property
    def enabled(self) -> bool:
        return self.api is not None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook routes and start/stop hooks; an empty blueprint when disabled."""
        webhook = Blueprint("therapy_telegram_webhook", __name__)
        if self.api is None:
            return webhook
        api = self.api

        @webhook.listener("after_server_start")
        async def register_webhook(app: Sanic, _: asyncio.AbstractEventLoop) -> None:
            task = asyncio.get_running_loop().create_task(self._set_webhook(api))
            self._startup_tasks.add(task)
            task.add_done_callback(self._startup_tasks.discard)

        @webhook.listener("before_server_stop")
        async def close_session(app: Sanic, _: asyncio.AbstractEventLoop) -> None:
            for task in list(self._startup_tasks):
                task.cancel()
            await api.close()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode("utf-8"), self.secret.encode("utf-8")):
                logger.warning("Telegram update rejected: missing or wrong %s header.", SECRET_HEADER)
                return _json_error(403, "The secret token header is missing or wrong.")
            try:
                update = request.json
            except Exception:  # sanic raises on a body that is not valid JSON
                return _json_error(400, "The body must be valid JSON.")
            if not isinstance(update, dict):
                return _json_error(400, "The body must be a JSON object (a Telegram update).")
            try:
                return _acknowledge(await self._handle_update(update, api, on_new_message))
            except Exception:  # a bug here must not make Telegram resend the update forever
                logger.exception("Telegram update handling failed (message text not logged)")
                return _acknowledge("failed")

        return webhook

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """No per-message metadata: the region is the deployment's (``CRISIS_REGION``)."""
        return None

    async def _set_webhook(self, api: BotApi) -> None:
        """Registers the webhook with its secret, retrying for a while if Telegram is unreachable.

        Every worker and replica does this; the call is idempotent because the URL and
        the secret are the same everywhere. Pending updates are kept, not dropped: they
        are people's messages sent while the server was down. A refusal (a wrong token,
        a URL that is not HTTPS) is not retried: only a new configuration can fix it.
        """
        params = {"url": self.webhook_url, "secret_token": self.secret, "allowed_updates": list(ALLOWED_UPDATES)}
        for attempt in range(1, _WEBHOOK_ATTEMPTS + 1):
            try:
                await api.call_once("setWebhook", params)
            except TelegramApiError as problem:
                logger.warning("Telegram setWebhook attempt %d failed: %s", attempt, problem)
                if not problem.retryable:
                    break
                if attempt < _WEBHOOK_ATTEMPTS:
                    await asyncio.sleep(2.0 ** attempt)
                continue
            logger.info("Telegram webhook registered; updates arrive at /webhooks/telegram/webhook.")
            return
        logger.error("Telegram webhook is not registered; no updates will arrive until the server restarts.")

    async def _handle_update(
        self, update: Dict[str, Any], api: BotApi, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """Answers one update; returns a short note on what was done (never the text)."""
        if isinstance(update.get("callback_query"), dict):
            return await self._handle_button(update["callback_query"], api, on_new_message)
        if isinstance(update.get("message"), dict):
            return await self._handle_message(update["message"], api, on_new_message)
        if isinstance(update.get("edited_message"), dict):
            return await self._handle_edit(update["edited_message"], api, on_new_message)
        logger.debug("Telegram update of an unhandled type ignored.")
        return "ignored"

    async def _handle_message(
        self, message: Dict[str, Any], api: BotApi, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        chat_id = _chat_id(message)
        if chat_id is None:
            return "ignored"
        text = _words_of(message)
        if text is None:
            if any(key in message for key in NON_TEXT_CONTENT):
                await self._send_all(api, chat_id, [{"text": with_crisis_line(NON_TEXT_REPLY)}])
                return "non-text"
            return "ignored"  # service messages: someone joined, a message was pinned, ...
        if not text.strip():
            await self._send_all(api, chat_id, [{"text": with_crisis_line(EMPTY_REPLY)}])
            return "empty"
        if _START_COMMAND.match(text.strip()):
            text = GREETING_PAYLOAD
        await self._converse(text, chat_id, api, on_new_message)
        return "message"

    async def _handle_edit(
        self, message: Dict[str, Any], api: BotApi, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """Edits are not answered again, unless the new wording shows risk.

        Answering every typo fix would repeat answers; missing "I want to die" added in
        an edit would be far worse, so the edited text is screened by the crisis detector
        and, if it shows risk, answered like a new message.
        """
        chat_id, text = _chat_id(message), _words_of(message)
        if chat_id is None or not text:
            return "ignored"
        if not (await screen_async(text)).assessment.shows_risk:
            return "edit-ignored"
        await self._converse(text, chat_id, api, on_new_message)
        return "edit-answered"

    async def _handle_button(
        self, query: Dict[str, Any], api: BotApi, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> str:
        """A button press is the button's payload sent as a message, after stopping the spinner."""
        data = query.get("data")
        text = self.keys.decode(data) if isinstance(data, str) else None
        chat_id = _chat_id(query.get("message")) if isinstance(query.get("message"), dict) else None
        if chat_id is None and isinstance(query.get("from"), dict):
            chat_id = query["from"].get("id")  # a private chat's id is the user's id
        if isinstance(query.get("id"), str):
            answer = {"callback_query_id": query["id"]}
            if text is None:
                answer["text"] = EXPIRED_BUTTON_NOTE
            try:
                await api.call("answerCallbackQuery", answer)
            except TelegramApiError as problem:
                logger.warning("Telegram answerCallbackQuery failed: %s", problem)
        if text is None or not text.strip() or chat_id is None:
            return "button-ignored"
        await self._converse(text, chat_id, api, on_new_message)
        return "button"

    async def _converse(
        self, text: str, chat_id: int | str, api: BotApi, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """One turn through Rasa, then its reply sent to the chat.

        A failed turn sends what it produced, or REST's "unavailable" reply if nothing,
        and is still acknowledged (200): a redelivery by Telegram would run it again. Cancellation (the
        server's response timeout, shutdown) is left to propagate; nothing has been
        sent by then, so Telegram's redelivery of that update does no harm.
        """
        sender = str(chat_id)
        collector = TelegramOutputChannel()

        async def send_now(reply: List[Dict[str, Any]]) -> None:
            await self._send_all(api, chat_id, reply)

        try:
            outcome = await respond(sender, text, None, self.name(), on_new_message, collector, fast_reply=send_now)
        except Exception:
            logger.exception("Telegram message handling failed (message text not logged)")
            await self._send_all(api, chat_id, unavailable_reply(sender, None))
            return
        await self._send_all(api, chat_id, collector.messages + outcome.messages)

    async def _send_all(self, api: BotApi, chat_id: int | str, messages: Sequence[Mapping[str, Any]]) -> None:
        """Sends the messages in order; a part that fails is logged and the rest still sent."""
        for message in messages:
            for call in outgoing_messages(chat_id, message, self.keys):
                try:
                    await api.call("sendMessage", call)
                except TelegramApiError as problem:
                    logger.error("Telegram sendMessage failed: %s", problem)


def _chat_id(message: Mapping[str, Any]) -> int | str | None:
    chat = message.get("chat")
    chat_id = chat.get("id") if isinstance(chat, Mapping) else None
    return chat_id if isinstance(chat_id, (int, str)) and not isinstance(chat_id, bool) else None


def _words_of(message: Mapping[str, Any]) -> str | None:
    """The typed words of a message: its text, or the caption of a photo or file."""
    for key in ("text", "caption"):
        if isinstance(message.get(key), str):
            return message[key]
    return None

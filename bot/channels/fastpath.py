"""One turn through a channel: the crisis fast path, the limits, and a deadline that holds.

Every channel (REST, socket.io, Telegram) hands each validated message to ``respond``:

1. **Screening.** ``bot.crisis.screening`` runs ``assess`` over the whole message (any
   length, bounded cost). This happens before the rate and length limits, so neither can
   hide risk.
2. **Crisis fast path.** When the tier is ``crisis``, the crisis reply for the
   conversation's region and kind is rendered from the ``utter_crisis`` variants of
   ``domain.yml`` (loaded once; the domain stays the one source of the wording) and
   returned at once: it does not wait for the conversation lock, the NLU pipeline, the
   tracker store or the action server. The turn is then recorded in the background
   through Rasa itself (``record_crisis_turn``): a message with the ``crisis`` intent and
   the ``crisis_kind``/``region`` entities already decided, so Rasa skips the pipeline,
   takes the conversation's lock in the order the message arrived, runs the crisis rule
   (``utter_crisis``, from the domain) and saves the turn, exactly once. Its output goes
   nowhere: the person already has the reply and never receives it twice. A message that
   also asks a question ("How long is a session? I want to die") is recorded through the
   whole pipeline instead, so the guard names the question and the turn answers it after
   the crisis reply; that answer follows the crisis reply (pushed when it is ready on
   socket.io and Telegram; on REST, added to the reply if it is ready within
   ``QUESTION_WAIT_SECONDS``), and only the crisis reply is held back from the recording.
3. **Limits.** ``bot.channels.limits.admit`` (rate and length), which lets any message
   that shows risk through.
4. **A bounded turn.** The turn runs with a deadline a little under the server's
   response timeout (``RESPONSE_TIMEOUT``, default 30 s): a turn still waiting for the
   lock or the action server then is answered "having trouble" with the crisis line (the
   turn itself carries on in the background and its late output is dropped). A turn in
   which an action failed or timed out also gets that notice, even if the domain
   produced part of the reply (a greeting during a fault said only the crisis line).

The conversation's region is the message's ``region`` metadata, else the last region that
conversation named (remembered per process, bounded), else the deployment's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Tuple

import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot import metrics
from bot.channels.limits import admit, channel_reply
from bot.crisis.regions import REGIONS, crisis_links, deployment_region, normalise_region
from bot.crisis.screening import Screening, screen_async
from bot.crisis.tiers import one_turn
from bot.env import positive_number
from bot.nlu.questions import question_sentences

logger = logging.getLogger(__name__)

DOMAIN_FILE = Path(__file__).resolve().parents[2] / "domain.yml"
CRISIS_RESPONSE = "utter_crisis"
CRISIS_INTENT = "crisis"
UNAVAILABLE_TEXT = "Sorry, I'm having trouble answering right now. Please try again in a moment."
#: Rasa's default when ``--response-timeout`` is given no value by scripts/run.sh.
DEFAULT_RESPONSE_TIMEOUT_SECONDS = 30.0
#: How long before the response timeout a stuck turn is answered (time to send the reply).
DEADLINE_MARGIN_SECONDS = 2.0
#: Conversations whose last named region is remembered (least recently seen forgotten first).
MAX_REMEMBERED_REGIONS = 100_000
#: Ordinary turns run through Rasa at once per process (``MAX_TURNS_IN_FLIGHT``); see ``_TurnSlots``.
DEFAULT_MAX_TURNS_IN_FLIGHT = 8
#: Crisis turns waiting to be recorded at once; beyond this a record is dropped with a warning.
MAX_PENDING_RECORDS = 10_000
#: How long a REST reply waits for the answer to a question asked beside a disclosure.
QUESTION_WAIT_SECONDS = 0.5

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


# --- the crisis reply, from the domain ----------------------------------------------------


def _conditions(variant: Mapping[str, Any]) -> Dict[str, Any]:
    return {c.get("name"): c.get("value") for c in variant.get("condition") or [] if isinstance(c, Mapping)}


@lru_cache(maxsize=1)
def crisis_variants() -> Dict[Tuple[str | None, str | None], Dict[str, Any]]:
    """``(region, kind) -> variant`` of ``utter_crisis``, read from domain.yml once per process.

    The unconditional variant is stored under ``(None, None)``: the domain's own fallback.
    """
    with open(DOMAIN_FILE, encoding="utf-8") as handle:
        responses = (yaml.safe_load(handle) or {}).get("responses") or {}
    variants: Dict[Tuple[str | None, str | None], Dict[str, Any]] = {}
    for variant in responses.get(CRISIS_RESPONSE) or []:
        conditions = _conditions(variant)
        key = (conditions.get("region"), conditions.get("crisis_kind"))
        if set(conditions) - {"region", "crisis_kind"}:
            continue  # a condition the fast path cannot evaluate: left to Rasa
        variants.setdefault(key, variant)
    if (None, None) not in variants:
        raise RuntimeError(f"{DOMAIN_FILE} has no unconditional {CRISIS_RESPONSE} variant")
    return variants


def crisis_reply(recipient_id: str, region: str, kind: str | None) -> List[Dict[str, Any]]:
    """The crisis reply Rasa would send for ``region`` and ``kind``, as one whole message."""
    variants = crisis_variants()
    variant = variants.get((region, kind)) or variants.get((region, "self")) or variants[(None, None)]
    message: Dict[str, Any] = {"recipient_id": recipient_id, "text": variant["text"]}
    if variant.get("custom"):
        message["custom"] = dict(variant["custom"])
    if variant.get("buttons"):
        message["buttons"] = list(variant["buttons"])
    return [with_links(message)]


#: Replies that carry the region's line, and so its tap-to-call, text and chat links.
LINKED_TOPICS = frozenset(
    {"crisis", "crisis_check", "crisis_check_no", "crisis_line", "unavailable", "too_long", "rate_limited"}
)


def with_links(message: Dict[str, Any]) -> Dict[str, Any]:
    """Adds the region's tap-to-call, tap-to-text and chat links to a crisis message's payload.

    Crisis replies and crisis lines (and the channel's own replies, which carry the
    banner) name their region in ``custom``; the links come from the one region table.
    """
    custom = message.get("custom")
    if isinstance(custom, dict) and custom.get("region") in REGIONS and "links" not in custom:
        if custom.get("topic") in LINKED_TOPICS:
            kind = custom.get("kind") if custom.get("topic") == "crisis" else None
            message["custom"] = {**custom, "links": crisis_links(custom["region"], kind)}
    return message


# --- the conversation's region -----------------------------------------------------------


class _RegionMemory:
    def __init__(self, capacity: int = MAX_REMEMBERED_REGIONS) -> None:
        self._regions: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity

    def region(self, sender: str, metadata: Mapping[str, Any] | None) -> str:
        named = normalise_region((metadata or {}).get("region"))
        if named:
            self._regions[sender] = named
            self._regions.move_to_end(sender)
            while len(self._regions) > self._capacity:
                self._regions.popitem(last=False)
            return named
        return self._regions.get(sender) or deployment_region()


_memory = _RegionMemory()


def conversation_region(sender: str, metadata: Mapping[str, Any] | None) -> str:
    """The region of this conversation's crisis resources (see the module docstring)."""
    return _memory.region(sender, metadata)


# --- recording a crisis turn -------------------------------------------------------------


class DiscardingOutput(CollectingOutputChannel):
    """Output of a recorded crisis turn: the person already has the reply."""

    async def _persist_message(self, message: Dict[str, Any]) -> None:
        return None


_pending: set[asyncio.Task] = set()


def crisis_parse_data(text: str, screening: Screening, region: str) -> Dict[str, Any]:
    """What the NLU guard would have produced for this message: the crisis intent and its entities."""
    found = screening.assessment
    intent = {"name": CRISIS_INTENT, "confidence": 1.0}
    return {
        "text": text,
        "intent": intent,
        "intent_ranking": [intent],
        "entities": [
            {"entity": "crisis_kind", "value": found.kind or "self", "start": 0, "end": len(text),
             "extractor": "CrisisFastPath"},
            {"entity": "region", "value": region, "start": 0, "end": len(text), "extractor": "CrisisFastPath"},
        ],
        "crisis": {
            "tier": "crisis",
            "rule": found.source,
            "kind": found.kind or "self",
            "region": region,
            "score": round(found.score, 4),
            "fast_path": True,
        },
    }


def answers_after_crisis(output: CollectingOutputChannel) -> List[Dict[str, Any]]:
    """What a recorded crisis turn said besides the crisis reply the person already has."""
    return [m for m in output.messages if (m.get("custom") or {}).get("topic") != "crisis"]


def record_crisis_turn(
    on_new_message: OnNewMessage, message: UserMessage, output_name: str = ""
) -> asyncio.Task | None:
    """Records a turn already answered by the fast path, through Rasa, in the background.

    The task is created now, so it asks for the conversation's lock before any later
    message of the same sender can: the turn is stored in the order it arrived.
    """
    if len(_pending) >= MAX_PENDING_RECORDS:
        logger.warning("Crisis turn not recorded: %d records already pending", len(_pending))
        return None

    async def record() -> None:
        started = time.monotonic()
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.warning("Crisis turn recording cancelled (server stopping)")
            raise
        except Exception as error:  # the reply went out; the log says the record failed
            logger.warning(
                "Crisis turn not recorded: %s after %.1f s", type(error).__name__, time.monotonic() - started
            )

    task = asyncio.get_running_loop().create_task(record())
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return task


def _push_answers_when_ready(
    recording: asyncio.Task, output: CollectingOutputChannel, push: Callable[[List[Dict[str, Any]]], Awaitable[None]]
) -> None:
    """Sends the answer to the question once the recorded turn has it (within the deadline)."""

    async def push_later() -> None:
        done, _ = await asyncio.wait({recording}, timeout=turn_deadline_seconds())
        answers = answers_after_crisis(output) if done else []
        if answers:
            await push(answers)

    task = asyncio.get_running_loop().create_task(push_later())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def pending_records() -> int:
    """How many fast-path turns are waiting to be stored (for tests and diagnostics)."""
    return len(_pending)


# --- one ordinary turn, with a deadline ----------------------------------------------------


@dataclass
class TurnFaults:
    """What went wrong in one turn: failed or timed-out actions, and the channel's deadline."""

    failed_actions: List[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def any(self) -> bool:
        return bool(self.failed_actions) or self.timed_out


#: The faults of the turn running in this task (set by ``run_turn``, read by bot/rasa_patches/action_timeout.py).
CURRENT_TURN: ContextVar[TurnFaults | None] = ContextVar("therapy_bot_turn_faults", default=None)


def response_timeout_seconds() -> float:
    """``RESPONSE_TIMEOUT`` (the server's, passed by scripts/run.sh), default 30 s."""
    return positive_number("RESPONSE_TIMEOUT", DEFAULT_RESPONSE_TIMEOUT_SECONDS)


def turn_deadline_seconds() -> float:
    """How long a turn may take before the channel answers it "having trouble"."""
    timeout = response_timeout_seconds()
    return max(timeout - DEADLINE_MARGIN_SECONDS, timeout / 2)


class WholeMessageOutputChannel(CollectingOutputChannel):
    """Collects each bot message as one dict (text, buttons and payload together).

    Stock Rasa splits a reply with text, buttons and a custom payload into separate list
    entries. After ``close()`` (the turn passed its deadline and was answered already)
    whatever the turn still says is dropped, so every message gets one reply.
    """

    closed = False

    def close(self) -> None:
        self.closed = True

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Stores the message with only the keys a client renders."""
        if self.closed:
            return
        whole: Dict[str, Any] = {"recipient_id": recipient_id}
        for key in ("text", "buttons", "custom", "image", "attachment"):
            if message.get(key):
                whole[key] = message[key]
        if message.get("quick_replies") and "buttons" not in whole:
            whole["buttons"] = message["quick_replies"]
        await self._persist_message(with_links(whole))


_running: set[asyncio.Future] = set()


def max_turns_in_flight() -> int:
    """``MAX_TURNS_IN_FLIGHT``: ordinary turns this process runs through Rasa at once (default 8)."""
    return max(1, int(positive_number("MAX_TURNS_IN_FLIGHT", DEFAULT_MAX_TURNS_IN_FLIGHT)))


class _TurnSlots:
    """At most ``max_turns_in_flight()`` ordinary turns in Rasa at once, per event loop.

    Why: Rasa runs each turn's NLU, policies and store calls on the server's one event
    loop. With 50 turns in flight every pass of the loop runs a step of each, so a new
    request (a crisis message included) waited seconds just to be read: measured p95
    3.5 s for the crisis reply under 32 busy senders. Turns beyond the limit wait here, in
    arrival order, costing nothing; the crisis fast path and the recording of crisis turns
    never take a slot. A slot is taken before the conversation's lock, so a lock holder
    always has one and waiting turns cannot deadlock.
    """

    def __init__(self) -> None:
        self._semaphores: Dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def for_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            self._semaphores = {k: v for k, v in self._semaphores.items() if not k.is_closed()}
            semaphore = self._semaphores[loop] = asyncio.Semaphore(max_turns_in_flight())
        return semaphore


_slots = _TurnSlots()


async def _in_a_slot(on_new_message: OnNewMessage, message: UserMessage, faults: TurnFaults) -> Any:
    async with _slots.for_loop():
        if faults.timed_out:  # answered "having trouble" while waiting: the person will ask again
            return None
        return await on_new_message(message)


async def run_turn(on_new_message: OnNewMessage, message: UserMessage, deadline: float | None = None) -> TurnFaults:
    """Runs one turn through Rasa for at most ``deadline`` seconds; returns its faults.

    Past the deadline a turn that has started goes on in the background (its lock ticket
    and tracker stay consistent) but its output is closed, so the person gets one reply
    per message; a turn still waiting for a slot then is dropped (never half-stored).
    """
    faults = TurnFaults()
    token = CURRENT_TURN.set(faults)
    try:
        turn = asyncio.ensure_future(_in_a_slot(on_new_message, message, faults))
    finally:
        CURRENT_TURN.reset(token)
    _running.add(turn)
    turn.add_done_callback(_running.discard)
    turn.add_done_callback(_log_late_failure)
    limit = deadline or turn_deadline_seconds()
    try:
        await asyncio.wait_for(asyncio.shield(turn), timeout=limit)
    except asyncio.TimeoutError:
        faults.timed_out = True
        output = message.output_channel
        if isinstance(output, WholeMessageOutputChannel):
            output.close()
        logger.warning("Turn not finished within %.1f s: answered 'having trouble'", limit)
    except Exception:
        faults.failed_actions.append("turn")
        raise
    return faults


def _log_late_failure(turn: asyncio.Future) -> None:
    if not turn.cancelled() and turn.exception() is not None:
        logger.debug("A turn ended with %s", type(turn.exception()).__name__)


# --- the whole exchange -------------------------------------------------------------------


@dataclass
class Outcome:
    """What the channel sends for one message besides what its output channel already has.

    ``messages`` go out after the output's own messages (REST and Telegram send both
    lists; socket.io has already emitted the output's). ``path`` says which way the
    message went: ``crisis`` (fast path), ``limited`` (rate or length reply) or ``turn``.
    """

    messages: List[Dict[str, Any]]
    path: str
    screening: Screening | None = None
    #: What the channel's ``fast_reply`` already sent (the crisis reply), for the metrics.
    sent_at_once: List[Dict[str, Any]] = field(default_factory=list)


def unavailable_reply(recipient_id: str, metadata: Mapping[str, Any] | None) -> List[Dict[str, Any]]:
    """"Having trouble" with the crisis line of the conversation's region."""
    return [with_links(m) for m in channel_reply(
        recipient_id, "unavailable", UNAVAILABLE_TEXT, {"region": conversation_region(recipient_id, metadata)}
    )]


async def respond(
    sender: str,
    text: str,
    metadata: Dict[str, Any] | None,
    input_channel: str,
    on_new_message: OnNewMessage,
    output: CollectingOutputChannel,
    fast_reply: Callable[[List[Dict[str, Any]]], Awaitable[None]] | None = None,
) -> Outcome:
    """Answers one message (see the module docstring). ``metadata`` must already be clean.

    ``fast_reply`` lets a channel send the crisis reply itself, at once (the recording of
    the turn waits in the background for the conversation's lock). Every message is
    counted in the metrics (bot/metrics.py) by its path and the topics of its reply; a
    message whose handling raises counts as an ``unavailable`` reply, which is what every
    channel then sends.
    """
    started = time.perf_counter()
    try:
        # The screening's verdict is the NLU guard's too: the text is assessed once per turn.
        with one_turn():
            outcome = await _answer(sender, text, metadata, input_channel, on_new_message, output, fast_reply)
    except Exception:
        unavailable = [{"custom": {"topic": "unavailable"}}]
        metrics.record_turn(input_channel, "error", time.perf_counter() - started, unavailable)
        raise
    screening = outcome.screening
    metrics.record_turn(
        input_channel, outcome.path, time.perf_counter() - started,
        [*outcome.sent_at_once, *output.messages, *outcome.messages],
        check_in_kind=screening.assessment.kind if screening is not None and screening.tier == "check_in" else None,
    )
    return outcome


async def _answer(
    sender: str,
    text: str,
    metadata: Dict[str, Any] | None,
    input_channel: str,
    on_new_message: OnNewMessage,
    output: CollectingOutputChannel,
    fast_reply: Callable[[List[Dict[str, Any]]], Awaitable[None]] | None,
) -> Outcome:
    region = conversation_region(sender, metadata)
    screening = await screen_async(text)
    if screening.tier == "crisis":
        reply = crisis_reply(sender, region, screening.assessment.kind)
        stored = text if len(text) <= _max_message_chars() else screening.excerpt
        asks = bool(question_sentences(stored))
        recording_output = WholeMessageOutputChannel() if asks else DiscardingOutput()
        # The record takes its place in the conversation's queue now, before a slow send
        # (Telegram retries) could let a later message of the same person go first.
        recording = record_crisis_turn(
            on_new_message,
            UserMessage(
                stored, recording_output, sender, input_channel=input_channel,
                metadata={**(metadata or {}), "region": region},
                parse_data=None if asks else crisis_parse_data(stored, screening, region),
            ),
        )
        if fast_reply is not None:
            await fast_reply(reply)
            if asks and recording is not None:
                _push_answers_when_ready(recording, recording_output, fast_reply)
        elif asks and recording is not None:
            await asyncio.wait({recording}, timeout=QUESTION_WAIT_SECONDS)
            if recording.done():
                reply = reply + answers_after_crisis(recording_output)
        logger.info(
            "crisis fast path rule=%s kind=%s region=%s windows=%d complete=%s",
            screening.assessment.source, screening.assessment.kind, region, screening.windows, screening.complete,
        )
        if fast_reply is not None:
            return Outcome([], "crisis", screening, sent_at_once=reply)
        return Outcome(reply, "crisis", screening)
    admission = admit(sender, text, {"region": region}, screening)
    if admission.reply is not None:
        return Outcome([with_links(m) for m in admission.reply], "limited", screening)
    faults = TurnFaults()
    try:
        faults = await run_turn(
            on_new_message,
            # The conversation's region goes with every message, so the NLU guard's crisis
            # replies follow the same region as the fast path's.
            UserMessage(admission.text, output, sender, input_channel=input_channel, metadata={"region": region}),
        )
    except asyncio.CancelledError:
        raise
    except Exception as error:  # a store, lock or pipeline failure: the person still gets a reply
        logger.error("Message handling failed: %s", describe_failure(error))
        if metrics.is_lock_store_error(error):
            metrics.record_store_error("lock", "lock")
        faults.failed_actions.append("turn")
    if faults.any or not output.messages:
        return Outcome(unavailable_reply(sender, metadata), "turn", screening)
    return Outcome([], "turn", screening)


def _max_message_chars() -> int:
    from bot.channels.limits import MAX_MESSAGE_CHARS

    return MAX_MESSAGE_CHARS


def describe_failure(error: BaseException) -> str:
    """The exception's type and where it was raised, for the log (never its message).

    Database drivers quote the statement and its parameters, which contain what the
    person wrote.
    """
    import traceback

    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{where}"

"""Prometheus metrics for operators: counts, errors and latency, never what people wrote.

Why one module: every metric name and every label value is defined here, from fixed sets
(channels, turn paths, the topic ids of actions/knowledge.yml, crisis kinds and regions,
store operations, the custom action names). The recording functions map anything outside
a set to ``other``, so no message text, sender id or other free-form value can ever
become a label, whatever a caller passes.

Metrics are off unless ``scripts/run.sh`` was given ``METRICS_PORT``: it then sets
``PROMETHEUS_MULTIPROC_DIR`` (an empty folder) for every server it starts. Each process
(every Sanic worker, the action server) writes its samples to its own files there
(``prometheus_client``'s multiprocess mode), and the exporter (bot/metrics_exporter.py)
adds them up, so the counts stay right with several workers. When off, each recording
call returns at once and ``prometheus_client`` is not even imported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, Mapping, Tuple

from actions.knowledge import load_knowledge
from bot.crisis import KINDS
from bot.crisis.regions import REGIONS

OTHER = "other"
#: Input channels (``InputChannel.name()`` of bot/channels).
CHANNELS: Tuple[str, ...] = ("rest", "socketio", "telegram")
#: Which way a message went (``fastpath.Outcome.path``, plus ``error`` when handling raised).
PATHS: Tuple[str, ...] = ("crisis", "limited", "turn", "error")
#: Reply topics besides the knowledge topics: what the assistant says when it cannot answer.
UNANSWERED_TOPICS: Tuple[str, ...] = ("clarify", "out_of_scope", "unavailable")
#: Topics of the crisis replies, check-ins and channel replies (bot/channels/fastpath.py).
SAFETY_TOPICS: Tuple[str, ...] = (
    "crisis", "crisis_check", "crisis_check_no", "crisis_line", "too_long", "rate_limited",
)
LIMIT_REASONS: Tuple[str, ...] = ("too_long", "rate_limited")
CRISIS_KINDS: Tuple[str, ...] = tuple(KINDS)
CHECK_IN_KINDS: Tuple[str, ...] = (*KINDS, "unknown")
REGION_CODES: Tuple[str, ...] = tuple(REGIONS)
#: The custom actions Rasa calls on the action server (actions/actions.py).
ACTIONS: Tuple[str, ...] = (
    "action_answer_topic", "action_answer_followup", "action_tell_me_more", "action_answer_question",
)
#: Why a call from Rasa to the action server failed (bot/action_timeout.py).
ACTION_FAILURES: Tuple[str, ...] = ("timeout", "unreachable", "error")
#: Stores and what was being done when one failed.
STORE_OPERATIONS: Tuple[Tuple[str, str], ...] = (
    ("tracker", "read"), ("tracker", "save"), ("tracker", "list"), ("lock", "lock"),
)
SERVERS: Tuple[str, ...] = ("rasa", "actions")
#: Turn latency buckets (seconds): the crisis target is 1 s, the response timeout 30 s.
LATENCY_BUCKETS: Tuple[float, ...] = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def reply_topics() -> Tuple[str, ...]:
    """Every topic label of ``therapy_bot_replies_total``: knowledge.yml's ids, then the fixed ones."""
    return tuple(dict.fromkeys((*load_knowledge().topics, *UNANSWERED_TOPICS, *SAFETY_TOPICS, OTHER)))


def enabled() -> bool:
    """Whether this process records metrics (``scripts/run.sh`` sets both with ``METRICS_PORT``)."""
    return bool(os.environ.get("METRICS_PORT")) and bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _one_of(value: Any, allowed: Iterable[str]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


@dataclass(frozen=True)
class _Metrics:
    turns: Any
    turn_seconds: Any
    replies: Any
    crisis_replies: Any
    check_ins: Any
    limited: Any
    action_failures: Any
    actions_run: Any
    store_errors: Any
    conversations: Any
    info: Any
    topics: frozenset


@lru_cache(maxsize=1)
def _metrics() -> _Metrics:
    """Creates every metric with all its label values, so each series exists from the start at 0.

    Series that exist at 0 make ``rate()`` and the alerts work before the first event.
    """
    from prometheus_client import Counter, Gauge, Histogram

    topics = reply_topics()
    m = _Metrics(
        turns=Counter("therapy_bot_turns", "Messages handled, by channel and path.", ["channel", "path"]),
        turn_seconds=Histogram("therapy_bot_turn_seconds", "Time from a message to its reply, by path.",
                               ["path"], buckets=LATENCY_BUCKETS),
        replies=Counter("therapy_bot_replies", "Bot messages sent, by topic.", ["topic"]),
        crisis_replies=Counter("therapy_bot_crisis_replies", "Full crisis replies sent, by kind and region.",
                               ["kind", "region"]),
        check_ins=Counter("therapy_bot_check_ins", "Crisis check-in questions sent, by kind and region.",
                          ["kind", "region"]),
        limited=Counter("therapy_bot_limited_messages", "Messages answered with a limit reply, by reason.",
                        ["reason"]),
        action_failures=Counter("therapy_bot_action_failures", "Calls from Rasa to the action server that failed.",
                                ["action", "reason"]),
        actions_run=Counter("therapy_bot_actions_run", "Custom actions run by the action server, by outcome.",
                            ["action", "outcome"]),
        store_errors=Counter("therapy_bot_store_errors", "Tracker store and lock store failures.",
                             ["store", "operation"]),
        conversations=Counter("therapy_bot_conversations_started",
                              "Conversation sessions started (a new person, or one back after an idle hour)."),
        info=Gauge("therapy_bot_info", "1 per running server, with its version and model.",
                   ["server", "version", "model_id"], multiprocess_mode="livemax"),
        topics=frozenset(topics),
    )
    for channel in (*CHANNELS, OTHER):
        for path in PATHS:
            m.turns.labels(channel, path)
    for path in PATHS:
        m.turn_seconds.labels(path)
    for topic in topics:
        m.replies.labels(topic)
    for region in REGION_CODES:
        for kind in CRISIS_KINDS:
            m.crisis_replies.labels(kind, region)
        for kind in CHECK_IN_KINDS:
            m.check_ins.labels(kind, region)
    for reason in LIMIT_REASONS:
        m.limited.labels(reason)
    for action in ACTIONS:
        for reason in ACTION_FAILURES:
            m.action_failures.labels(action, reason)
        for outcome in ("ok", "error"):
            m.actions_run.labels(action, outcome)
    for store, operation in STORE_OPERATIONS:
        m.store_errors.labels(store, operation)
    return m


def start(server: str, version: str, model_id: str | None = None) -> None:
    """Creates this process's series and publishes its ``therapy_bot_info`` line."""
    if enabled():
        _metrics().info.labels(_one_of(server, SERVERS), _safe_token(version), _safe_token(model_id or "none")).set(1)


def _safe_token(value: str) -> str:
    """A version or model id as a label: letters, digits and ``.-_+`` only, at most 64 characters."""
    kept = "".join(c for c in str(value) if c.isascii() and (c.isalnum() or c in ".-_+"))
    return kept[:64] or OTHER


def record_turn(
    channel: str, path: str, seconds: float, messages: Iterable[Mapping[str, Any]], check_in_kind: str | None = None,
) -> None:
    """Counts one message: its channel and path, its latency, and each reply by topic.

    ``messages`` are the bot messages of the turn; only their ``custom`` topic, kind and
    region are read, each checked against its fixed set. ``check_in_kind`` is the crisis
    kind the channel's screening saw, for a check-in the turn sent.
    """
    if not enabled():
        return
    m = _metrics()
    path = _one_of(path, PATHS)
    m.turns.labels(_one_of(channel, CHANNELS), path).inc()
    m.turn_seconds.labels(path).observe(seconds)
    for message in messages:
        custom = message.get("custom")
        if not isinstance(custom, dict):
            continue
        topic = custom.get("topic")
        m.replies.labels(topic if isinstance(topic, str) and topic in m.topics else OTHER).inc()
        region = _one_of(custom.get("region"), REGION_CODES)
        if topic == "crisis":
            m.crisis_replies.labels(_one_of(custom.get("kind"), CRISIS_KINDS), region).inc()
        elif topic == "crisis_check":
            kind = check_in_kind if check_in_kind in CRISIS_KINDS else "unknown"
            m.check_ins.labels(kind, region).inc()
        elif topic in LIMIT_REASONS:
            m.limited.labels(topic).inc()


def record_action_failure(action: str, error: BaseException) -> None:
    """Counts a failed call to the action server: timed out, unreachable, or another error.

    Only the types of ``error`` and of the exceptions it was raised from are read.
    """
    if not enabled():
        return
    _metrics().action_failures.labels(_one_of(action, ACTIONS), _failure_reason(error)).inc()


def _failure_reason(error: BaseException | None) -> str:
    """``timeout`` or ``unreachable`` if the error or what it was raised from (Rasa re-raises) is one."""
    for _ in range(5):  # an exception chain is short; the bound guards against cycles
        if error is None:
            break
        kinds = {kind.__name__ for kind in type(error).__mro__}
        if "TimeoutError" in kinds:
            return "timeout"
        if kinds & {"ClientConnectionError", "ConnectionError"}:
            return "unreachable"
        error = error.__cause__ or error.__context__
    return "error"


def record_action_run(action: str, ok: bool) -> None:
    """Counts one custom action run on the action server."""
    if enabled():
        _metrics().actions_run.labels(_one_of(action, ACTIONS), "ok" if ok else "error").inc()


def record_store_error(store: str, operation: str) -> None:
    """Counts a tracker-store or lock-store failure."""
    if enabled():
        pair = (store, operation) if (store, operation) in STORE_OPERATIONS else (OTHER, OTHER)
        _metrics().store_errors.labels(*pair).inc()


def is_lock_store_error(error: BaseException) -> bool:
    """Whether a turn failed because the lock store (Redis) did; read from the error's type only."""
    kind = type(error)
    return kind.__module__.split(".")[0] == "redis" or kind.__name__ == "LockError"


def record_conversation_started() -> None:
    """Counts a new conversation session (Rasa's ``action_session_start``)."""
    if enabled():
        _metrics().conversations.inc()


@lru_cache(maxsize=1)
def _crisis_check_gauges() -> Tuple[Any, Any]:
    """Created only in the processes that run the check (Rasa's), so no other process reports a 0."""
    from prometheus_client import Gauge

    return (
        Gauge("therapy_bot_crisis_check_ok", "1 when the latest crisis response check passed in this process, else 0.",
              multiprocess_mode="livemin"),
        Gauge("therapy_bot_crisis_check_timestamp_seconds", "When the crisis response check last passed (Unix time).",
              multiprocess_mode="livemax"),
    )


def record_crisis_check(ok: bool, now: float) -> None:
    """Publishes the result of the crisis response check (bot/channels/crisis_check.py)."""
    if not enabled():
        return
    passed, last_pass = _crisis_check_gauges()
    passed.set(1 if ok else 0)
    if ok:
        last_pass.set(now)


def process_stopped(pid: int) -> None:
    """Removes a stopped process's live gauges (its crisis check and info line)."""
    if enabled():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def label_sets() -> Dict[str, Tuple[str, ...]]:
    """Every label value each label may take (for the tests and docs/metrics.md)."""
    return {
        "channel": (*CHANNELS, OTHER), "path": PATHS, "topic": reply_topics(),
        "kind": (*CHECK_IN_KINDS, OTHER), "region": (*REGION_CODES, OTHER), "reason": (*LIMIT_REASONS,
        *ACTION_FAILURES), "action": (*ACTIONS, OTHER), "outcome": ("ok", "error"),
        "store": ("tracker", "lock", OTHER), "operation": ("read", "save", "list", "lock", OTHER), "server": SERVERS,
    }

"""A closed-loop REST load client: N concurrent senders, each waiting for its reply.

Why closed-loop: the issue asks for "concurrent senders", i.e. people who each wait for
the answer before writing again; throughput is then what the bot sustains at that many
open conversations. Every phase is bounded twice: by a duration (or turn count) for
sending, and by the per-request timeout for the replies still in flight.

A turn counts as an error when the HTTP status is not 200, the request fails or times
out, the body is not a non-empty JSON list, or the bot sent its "trouble answering"
reply (topic ``unavailable``: the turn produced no answer, e.g. the action server timed
out). Replies are read, never logged.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence

import aiohttp

#: How long one turn may take before it counts as an error (Rasa's own default
#: response timeout in ``scripts/run.sh`` is 30 s as well).
REQUEST_TIMEOUT_S = 30.0
#: Each simulated person asks this many questions, then a new conversation starts,
#: so trackers stay the size of real conversations rather than growing without end.
TURNS_PER_CONVERSATION = 5


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation; NaN for no values.

    Written out rather than taken from numpy so the client stays light to import.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class PhaseResult:
    """What one load phase measured; latencies are of turns answered in the window."""

    name: str
    concurrency: int
    window_s: float
    latencies_ms: List[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    curated: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    def summary(self) -> Dict[str, Any]:
        """The figures reported for the phase (throughput counts successful turns only)."""
        lat = self.latencies_ms
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "window_s": round(self.window_s, 2),
            "turns": self.ok + sum(self.errors.values()),
            "ok": self.ok,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "curated": self.curated,
            "throughput": self.ok / self.window_s if self.window_s > 0 else math.nan,
            "p50_ms": percentile(lat, 50),
            "p95_ms": percentile(lat, 95),
            "p99_ms": percentile(lat, 99),
            "mean_ms": sum(lat) / len(lat) if lat else math.nan,
            "max_ms": max(lat) if lat else math.nan,
        }


def classify_reply(status: int, body: Any) -> tuple[str | None, bool]:
    """``(error kind or None, whether a curated answer came back)`` for one reply."""
    if status != 200:
        return f"http_{status}", False
    if not isinstance(body, list) or not body:
        return "empty_reply", False
    topics = [m["custom"].get("topic") for m in body if isinstance(m, dict) and isinstance(m.get("custom"), dict)]
    if "unavailable" in topics:
        return "unavailable_reply", False
    return None, any(topics)


class LoadClient:
    """Sends REST turns to one bot and counts every turn it completed, for memory checkpoints."""

    def __init__(
        self,
        base_url: str,
        messages: Sequence[str],
        sender_prefix: str,
        checkpoints: Sequence[int] = (),
        on_checkpoint: Callable[[int], None] | None = None,
    ) -> None:
        """``on_checkpoint(turns)`` runs the moment the ``turns``-th turn of ``checkpoints`` completes.

        Whatever phase is running then: the memory checkpoints must be taken at exactly
        5,000 and 10,000 turns, even when the latency phases before them already sent
        more than 5,000.
        """
        if not messages:
            raise ValueError("the load client needs at least one message")
        self.url = f"{base_url}/webhooks/rest/webhook"
        self.messages = list(messages)
        self.sender_prefix = sender_prefix
        self.turns_done = 0
        self._checkpoints = frozenset(checkpoints)
        self._on_checkpoint = on_checkpoint
        self._conversations = 0
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LoadClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def turn(self, sender: str, message: str) -> tuple[float, str | None, bool]:
        """One turn: ``(latency in ms, error kind or None, curated answer?)``."""
        assert self._session is not None, "use LoadClient as an async context manager"
        started = time.perf_counter()
        try:
            async with self._session.post(self.url, json={"sender": sender, "message": message}) as response:
                status = response.status
                body = await response.json(content_type=None) if status == 200 else None
            error, curated = classify_reply(status, body)
        except asyncio.TimeoutError:
            error, curated = "timeout", False
        except (aiohttp.ClientError, ValueError) as exc:
            error, curated = type(exc).__name__, False
        latency_ms = (time.perf_counter() - started) * 1e3
        self.turns_done += 1
        if self._on_checkpoint is not None and self.turns_done in self._checkpoints:
            self._on_checkpoint(self.turns_done)
        return latency_ms, error, curated

    def _new_sender(self, phase: str, worker: int) -> str:
        self._conversations += 1
        return f"{self.sender_prefix}-{phase}-{worker}-{self._conversations}"

    async def phase(
        self,
        name: str,
        concurrency: int,
        duration_s: float | None = None,
        max_turns: int | None = None,
        warmup_s: float = 0.0,
    ) -> PhaseResult:
        """Run ``concurrency`` senders until ``duration_s`` passed or ``max_turns`` were sent.

        A turn is recorded when its reply arrives inside the window: after ``warmup_s``
        and, with a duration, before the window closes. Counting by completion measures
        the steady state even when one turn takes longer than the window (64 senders
        on a slow bot); replies still in flight when the window closes are awaited, so
        the next phase starts on an idle bot, but not recorded.
        """
        if duration_s is None and max_turns is None:
            raise ValueError("a phase needs a duration or a turn count")
        record_from = time.perf_counter() + warmup_s
        stop_at = record_from + duration_s if duration_s is not None else math.inf
        result = PhaseResult(name, concurrency, window_s=0.0)
        started_turns = 0

        async def sender(worker: int) -> None:
            nonlocal started_turns
            sender_id = self._new_sender(name, worker)
            sent = 0
            while time.perf_counter() < stop_at and (max_turns is None or started_turns < max_turns):
                if sent and sent % TURNS_PER_CONVERSATION == 0:
                    sender_id = self._new_sender(name, worker)
                started_turns += 1
                message = self.messages[(worker + sent) % len(self.messages)]
                latency, error, curated = await self.turn(sender_id, message)
                sent += 1
                if not record_from <= time.perf_counter() <= stop_at:
                    continue
                if error is None:
                    result.latencies_ms.append(latency)
                    result.curated += curated
                else:
                    result.errors[error] += 1

        await asyncio.gather(*(sender(w) for w in range(concurrency)))
        # With a duration the window is exactly that long; when the turn count ran out
        # first, it is the time the turns actually took.
        elapsed = time.perf_counter() - record_from
        result.window_s = min(duration_s, elapsed) if duration_s is not None else elapsed
        return result

    async def until_turns(self, total_turns: int, concurrency: int, max_seconds: float) -> PhaseResult:
        """Keep ``concurrency`` senders busy until this client completed ``total_turns`` turns.

        Bounded by ``max_seconds``; the caller reads ``turns_done`` to see how far it got.
        """
        remaining = max(0, total_turns - self.turns_done)
        result = PhaseResult(f"to-{total_turns}", concurrency, window_s=0.0)
        if remaining == 0:
            return result
        deadline = time.perf_counter() + max_seconds
        while self.turns_done < total_turns and time.perf_counter() < deadline:
            chunk = await self.phase(
                result.name, concurrency,
                duration_s=max(0.1, deadline - time.perf_counter()),
                max_turns=total_turns - self.turns_done,
            )
            result.latencies_ms += chunk.latencies_ms
            result.errors += chunk.errors
            result.curated += chunk.curated
            result.window_s += chunk.window_s
        return result


def is_crisis_reply(status: int, body: Any) -> bool:
    """Whether a reply is the crisis reply (its first message's topic is ``crisis``)."""
    return (
        status == 200 and isinstance(body, list) and bool(body) and isinstance(body[0], dict)
        and isinstance(body[0].get("custom"), dict) and body[0]["custom"].get("topic") == "crisis"
    )


async def crisis_under_load(
    client: LoadClient, samples: int, background: int, crisis_message: str, interval_s: float = 0.05
) -> PhaseResult:
    """Crisis-reply latency while ``background`` senders keep the bot busy with questions.

    Every crisis message comes from a sender whose own question was sent just before it
    (so, without the fast path, it would wait for that turn's lock, NLU and action call);
    the latency is from sending the crisis message to receiving the crisis reply. An
    answer that is not the crisis reply counts as an error (``not_crisis``).
    """
    assert client._session is not None, "use LoadClient as an async context manager"
    result = PhaseResult("crisis_fast_path", background, window_s=0.0)
    done = asyncio.Event()

    async def busy(worker: int) -> None:
        sent = 0
        while not done.is_set():
            await client.turn(client._new_sender("fastpath-load", worker), client.messages[(worker + sent) % len(
                client.messages)])
            sent += 1

    async def crisis(index: int) -> None:
        sender = client._new_sender("fastpath", index)
        question = asyncio.ensure_future(client.turn(sender, client.messages[index % len(client.messages)]))
        await asyncio.sleep(0.01)  # the question reaches the server first and takes the lock
        started = time.perf_counter()
        try:
            async with client._session.post(client.url, json={"sender": sender, "message": crisis_message}) as reply:
                status = reply.status
                body = await reply.json(content_type=None) if status == 200 else None
            latency_ms = (time.perf_counter() - started) * 1e3
            if is_crisis_reply(status, body):
                result.latencies_ms.append(latency_ms)
            else:
                result.errors["not_crisis"] += 1
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
        await question

    load = [asyncio.ensure_future(busy(w)) for w in range(background)]
    started = time.perf_counter()
    try:
        await asyncio.sleep(1.0)  # the load is running before the first sample
        probes = []
        for index in range(samples):
            probes.append(asyncio.ensure_future(crisis(index)))
            await asyncio.sleep(interval_s)
        await asyncio.gather(*probes)
    finally:
        done.set()
        await asyncio.gather(*load, return_exceptions=True)
    result.window_s = time.perf_counter() - started
    return result


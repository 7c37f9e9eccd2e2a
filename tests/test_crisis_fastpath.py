"""The crisis fast path of every channel, in-process: no input shape and no fault costs a crisis reply.

The channels' own code runs (the REST route handler, the socket.io event handler, the
Telegram update handler); only Rasa is replaced, by a fake ``on_new_message`` that holds a
per-conversation lock as Rasa's lock store does and can be down (raises), hung (never
returns) or held by an earlier stuck turn of the same sender. Hypothesis varies the
message (a crisis sentence anywhere in text full of idioms and grief words), the metadata
(any shape, nested thousands of levels, megabytes), the sender id, the rate-limit state
and the fault, and checks that the crisis reply for the right region and kind goes out
once, within 1 s. Derandomised under CI (tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.channels import fastpath
from bot.channels.fastpath import crisis_reply
from bot.channels.inputs import BadInput, clean_metadata, load_body, sender_problem
from bot.channels.limits import _limiter, rate_limit_per_minute
from bot.channels.rest import RestInput
from bot.channels.socketio import WidgetSocketIOInput
from bot.channels.telegram import TelegramInput, outgoing_messages
from bot.crisis.regions import REGIONS, deployment_region, normalise_region
from bot.crisis.screening import MAX_SCREENED_CHARS, OVERLAP_CHARS, UNSCREENED_SOURCE, WINDOW_CHARS, screen
from bot.crisis.tiers import assess
from bot.nlu.questions import question_sentences
from evaluation import corpus

#: Words that used to use up the detector's keyword budget before a later crisis sentence.
FILLERS = [
    "My grandmother's death last year still hurts, and the dog is dead too. ",
    "This traffic is killing me and I'm dying to know when it ends lol. ",
    "I have been reading about therapy and wondering about many things. ",
    "The economy is in crisis again and my phone died. ",
]
ESCALATE = [m for _, m in corpus.iter_messages(corpus.load_escalate(include_holdout=False)["main"])]


@functools.cache
def crisis_sentences() -> List[str]:
    """Corpus messages that are a crisis also inside other text (a lone "crisis" is one only alone)."""
    return [
        m for m in ESCALATE[::3]
        if len(m) < OVERLAP_CHARS and all(assess(f"{f}\n\n{m}\n\n{f}").tier == "crisis" for f in FILLERS)
    ]


#: One of ``crisis_sentences()``, drawn when a test runs: finding them needs the risk model,
#: which collecting the tests (``make test-fast`` collects every module) must not.
CRISIS_SENTENCE = st.deferred(lambda: st.sampled_from(crisis_sentences()))
#: Far less than any stuck turn here waits (a hung action server, a held lock): a reply
#: sooner than this did not wait for them. The speed target itself (1 s at p99) is
#: measured by `make bench`, not asserted by a timed test.
FAST = 5.0


def _message(sentence: str, filler: str, before: int, after: int) -> str:
    return filler * before + "\n\n" + sentence + "\n\n" + filler * after


# --- screening ---------------------------------------------------------------------------------


@pytest.mark.model
@settings(max_examples=30, deadline=None)
@given(
    sentence=CRISIS_SENTENCE,
    filler=st.sampled_from(FILLERS),
    before=st.integers(0, 1_500),
    after=st.integers(0, 300),
)
def test_a_crisis_sentence_is_found_anywhere_in_a_long_message(
    sentence: str, filler: str, before: int, after: int
) -> None:
    text = _message(sentence, filler, before, after)
    assume(len(text) <= MAX_SCREENED_CHARS)
    found = screen(text)
    assert found.tier == "crisis", (len(text), sentence)
    assert found.complete


@pytest.mark.unit
@pytest.mark.parametrize("sentence", ["i want to kill myself", "my friend says she is going to kill herself tonight"])
def test_a_crisis_sentence_across_a_window_boundary_is_still_read_whole(sentence: str) -> None:
    for boundary in (WINDOW_CHARS, 2 * WINDOW_CHARS - OVERLAP_CHARS):
        for start in range(boundary - len(sentence) + 1, boundary, 5):
            text = (FILLERS[2] * 200)[:start] + sentence + ". " + FILLERS[2] * 30
            assert screen(text).tier == "crisis", (boundary, start)


@pytest.mark.unit
def test_screening_an_over_long_message_gives_the_full_crisis_reply_not_a_banner() -> None:
    found = screen("a" * (MAX_SCREENED_CHARS + 1))
    assert (found.tier, found.assessment.kind, found.assessment.source) == ("crisis", "self", UNSCREENED_SOURCE)
    assert not found.complete


@pytest.mark.unit
def test_a_failing_assessment_gives_the_full_crisis_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.crisis import screening

    def broken(text: str) -> None:
        raise RuntimeError("risk model unavailable")

    monkeypatch.setattr(screening, "assess", broken)
    found = screening.screen("how long is a session?")
    assert (found.tier, found.assessment.kind, found.complete) == ("crisis", "self", False)
    assert asyncio.run(screening.screen_async("x" * 10_000)).assessment.source == screening.FAILED_SOURCE


@pytest.mark.model
def test_screening_reads_200000_characters_in_full() -> None:
    text = (FILLERS[0] * 3_000)[: MAX_SCREENED_CHARS - 40] + " i want to kill myself"
    found = screen(text)
    assert found.tier == "crisis" and found.complete


# --- input validation ----------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("sender", ["a\ud800b", "\udfff", "nul\x00", "bell\x07", "\x1b[31m"])
def test_unstorable_sender_ids_are_refused(sender: str) -> None:
    assert sender_problem(sender) is not None


@pytest.mark.unit
@pytest.mark.parametrize("sender", ["x" * 128, "ünïcødé-séndér", "1", "a b c", "<script>", "😀"])
def test_storable_sender_ids_are_accepted(sender: str) -> None:
    assert sender_problem(sender) is None


def _json_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=12),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=25,
    )


@pytest.mark.unit
@settings(max_examples=100, deadline=None)
@given(metadata=_json_values())
def test_metadata_of_any_shape_is_cut_to_a_known_region(metadata: Any) -> None:
    cleaned = clean_metadata(metadata)
    assert cleaned is None or (set(cleaned) == {"region"} and cleaned["region"] in REGIONS)


@pytest.mark.unit
@pytest.mark.parametrize("depth", [500, 1_000, 5_000, 100_000])
def test_a_body_with_deeply_nested_metadata_still_yields_the_message(depth: int) -> None:
    deep = '{"a":' * depth + "1" + "}" * depth
    flat = deep.replace("{", "[").replace("}", "]").replace('"a":', "")
    raw = ('{"sender": "s", "metadata": {"x": ' + deep + ', "region": "gb", "y": [' + flat + ']}, '
           '"message": "hi \\" there"}').encode()
    body = load_body(raw)
    assert body["sender"] == "s" and body["message"] == 'hi " there'
    assert clean_metadata(body["metadata"]) == {"region": "GB"}


@pytest.mark.unit
@pytest.mark.parametrize("depth", [500, 5_000])
def test_a_socketio_event_with_deep_metadata_still_yields_the_message(depth: int) -> None:
    from socketio.packet import Packet

    from bot.channels.inputs import DepthSafeJson

    channel = WidgetSocketIOInput().blueprint(FakeRasa("none"))
    assert channel.ctx.sio.packet_class.json is DepthSafeJson
    deep = '{"a":' * depth + "1" + "}" * depth
    encoded = '42["user_uttered",{"metadata":{"x":' + deep + ',"region":"ie"},"message":"i want to die","x":[' + \
        deep + '],"session_id":"abc"}]'
    packet = Packet(encoded_packet=encoded)
    event, data = packet.data[0], packet.data[1]
    assert event == "user_uttered" and data["message"] == "i want to die" and data["session_id"] == "abc"
    assert clean_metadata(data["metadata"]) == {"region": "IE"}


@pytest.mark.unit
@pytest.mark.parametrize(
    "raw", [b'{"sender": "s", "message": "x", "metadata": ' + b"[" * 3000, b"[" * 3000 + b"]" * 2999]
)
def test_a_broken_deep_body_is_a_clear_400(raw: bytes) -> None:
    with pytest.raises(BadInput):
        load_body(raw)


# --- every channel, under every fault --------------------------------------------------------------


@dataclass
class FakeRasa:
    """``on_new_message`` as Rasa behaves: one turn per conversation at a time, then the fault."""

    fault: str
    locks: Dict[str, asyncio.Lock] = field(default_factory=dict)
    handled: List[Tuple[float, Any]] = field(default_factory=list)

    async def __call__(self, message: Any) -> None:
        lock = self.locks.setdefault(message.sender_id, asyncio.Lock())
        async with lock:
            self.handled.append((time.monotonic(), message))
            if self.fault == "down":
                raise ConnectionError("action server down")
            if self.fault in ("hung", "lock_held"):
                await asyncio.Event().wait()
            await message.output_channel.send_text_message(message.sender_id, "an ordinary answer")


class FakeBotApi:
    def __init__(self) -> None:
        self.calls: List[Tuple[float, str, Dict[str, Any]]] = []

    async def call(self, method: str, params: Dict[str, Any], attempts: int = 3) -> Any:
        self.calls.append((time.monotonic(), method, params))
        return {}


async def _via_rest(rasa: FakeRasa, sender: str, text: str, metadata_json: str | None) -> List[Tuple[float, Dict]]:
    blueprint = RestInput().blueprint(rasa)
    receive = next(route.handler for route in blueprint._future_routes if route.uri == "/webhook")
    extra = "" if metadata_json is None else f', "metadata": {metadata_json}'
    body = f'{{"sender": {json.dumps(sender)}, "message": {json.dumps(text)}{extra}}}'

    class Request:
        pass

    request = Request()
    request.body = body.encode("utf-8", "surrogatepass")
    reply = await receive(request)
    assert reply.status == 200, reply.body
    return [(time.monotonic(), message) for message in json.loads(reply.body)]


async def _via_socketio(rasa: FakeRasa, sender: str, text: str, metadata: Any) -> List[Tuple[float, Dict]]:
    channel = WidgetSocketIOInput(session_persistence=False).blueprint(rasa)
    sio = channel.ctx.sio
    emitted: List[Tuple[float, Dict]] = []

    async def emit(event: str, data: Any = None, room: Any = None, **_: Any) -> None:
        assert room == sender
        emitted.append((time.monotonic(), data))

    sio.emit = emit
    await sio.handlers["/"]["user_uttered"](sender, {"message": text, "metadata": metadata})
    return emitted


async def _via_telegram(rasa: FakeRasa, chat_id: int, text: str) -> List[Tuple[float, Dict]]:
    api = FakeBotApi()
    channel = TelegramInput(None)
    update = {"message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "private"}, "text": text}
    await channel._handle_message(update, api, rasa)
    return [(at, params) for at, method, params in api.calls if method == "sendMessage"]


def _region_named_in(value: Any) -> str | None:
    region = value.get("region") if isinstance(value, dict) else None
    return normalise_region(region) if isinstance(region, str) and len(region) <= 32 else None


METADATA = st.one_of(
    st.just((None, None)),
    st.sampled_from([("{}", None), ('{"region": "gb"}', "GB"), ('{"region": "IE"}', "IE"), ('{"region": "uk"}', "GB"),
                     ('{"region": "XX"}', None), ('{"region": 5}', None), ('"region"', None), ("[1, 2]", None),
                     ('{"region": "%s"}' % ("G" * 100), None)]),
    _json_values().map(lambda value: (json.dumps(value), _region_named_in(value))),
    st.integers(500, 3_000).map(lambda d: ('{"deep": %s, "region": "NZ"}' % ('{"a":' * d + "1" + "}" * d), "NZ")),
    st.integers(500, 3_000).map(lambda d: ("[" * d + "]" * d, None)),
    st.integers(10_000, 400_000).map(lambda n: (json.dumps({"region": "AU", "blob": "x" * n}), "AU")),
)
SENDERS = st.text(min_size=1, max_size=60).filter(
    lambda s: s.strip() and not any(unicodedata.category(c) in ("Cs", "Cc") for c in s)
)


@pytest.mark.model
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    channel=st.sampled_from(["rest", "socketio", "telegram"]),
    sentence=CRISIS_SENTENCE,
    filler=st.sampled_from(FILLERS),
    before=st.sampled_from([0, 3, 60, 700, 2_900]),
    after=st.sampled_from([0, 2, 100]),
    metadata=METADATA,
    sender=SENDERS,
    over_rate=st.booleans(),
    fault=st.sampled_from(["none", "down", "hung", "lock_held"]),
)
def test_every_channel_sends_the_crisis_reply_at_once_whatever_the_input_and_the_fault(
    channel: str, sentence: str, filler: str, before: int, after: int, metadata: Tuple[str | None, str | None],
    sender: str, over_rate: bool, fault: str,
) -> None:
    text = _message(sentence, filler, before, after)
    verdict = screen(text)
    assume(verdict.tier == "crisis")
    metadata_json, named_region = metadata
    socket_metadata = None  # what socket.io's own JSON parser hands the channel
    if channel == "socketio" and metadata_json is not None and len(metadata_json) < 50_000:
        try:
            socket_metadata = json.loads(metadata_json)
        except RecursionError:
            named_region = None  # socket.io refuses such a packet's metadata: none is passed
    elif channel == "socketio" and metadata_json is not None:
        named_region = None  # the test passes no megabyte metadata over socket.io
    sender = f"{sender}-{uuid.uuid4().hex[:8]}"  # a new conversation: no remembered region
    chat_id = int(uuid.uuid4().int % 10**12)
    conversation = sender if channel != "telegram" else str(chat_id)
    region = (named_region if channel != "telegram" else None) or deployment_region()
    expected = crisis_reply(conversation, region, verdict.assessment.kind)

    async def scenario() -> Tuple[float, List[Tuple[float, Dict]], FakeRasa]:
        rasa = FakeRasa(fault)
        if over_rate:
            for _ in range(rate_limit_per_minute()):
                _limiter().allow(conversation)
        if fault == "lock_held":  # an earlier question of the same person is stuck in Rasa
            asyncio.get_running_loop().create_task(fastpath.respond(
                conversation, "how long is a session?", None, channel, rasa, fastpath.WholeMessageOutputChannel()
            ))
            await asyncio.sleep(0.01)
        started = time.monotonic()
        if channel == "rest":
            sent = await _via_rest(rasa, sender, text, metadata_json)
        elif channel == "socketio":
            sent = await _via_socketio(rasa, sender, text, socket_metadata)
        else:
            sent = await _via_telegram(rasa, chat_id, text)
        await asyncio.sleep(0.05)  # the recording task runs (or queues for the lock)
        return started, sent, rasa

    started, sent, rasa = asyncio.run(scenario())
    if channel == "telegram":
        crisis_params = outgoing_messages(chat_id, expected[0], TelegramInput(None).keys)
        assert [params for _, params in sent][: len(crisis_params)] == crisis_params
    else:
        assert [message for _, message in sent][:1] == expected, "the crisis reply for the right region and kind"
        later = [message for _, message in sent][1:]
        assert all((m.get("custom") or {}).get("topic") != "crisis" for m in later), "never sent twice"
    assert sent[0][0] - started < FAST, f"crisis reply after {sent[0][0] - started:.2f} s"
    recorded = [m for _, m in rasa.handled if m.text != "how long is a session?"]
    if fault != "lock_held":
        assert len(recorded) == 1, "the turn is recorded exactly once"
        if question_sentences(recorded[0].text):
            # A question asked beside the disclosure: the pipeline records it and answers it.
            assert recorded[0].parse_data is None
        else:
            assert recorded[0].parse_data["intent"]["name"] == "crisis"
            assert isinstance(recorded[0].output_channel, fastpath.DiscardingOutput), "never sent twice"
            assert recorded[0].parse_data["entities"][0]["value"] == verdict.assessment.kind


@pytest.mark.unit
def test_a_message_too_long_to_screen_gets_the_full_crisis_reply_on_every_channel() -> None:
    text = "I have been reading about therapy. " * 7_000
    assert len(text) > MAX_SCREENED_CHARS

    async def scenario() -> List[List[Tuple[float, Dict]]]:
        rasa = FakeRasa("hung")
        return [
            await _via_rest(rasa, "long-rest", text, '{"region": "GB"}'),
            await _via_socketio(rasa, "long-sio", text, {"region": "GB"}),
        ]

    for sent in asyncio.run(scenario()):
        assert sent[0][1]["custom"]["topic"] == "crisis" and sent[0][1]["custom"]["region"] == "GB"
        assert "116 123" in sent[0][1]["text"]


@pytest.mark.unit
@pytest.mark.parametrize("kind, number", [("sexual_assault", "tel:+18006564673"), ("domestic_violence",
                                          "tel:+18007997233"), ("child_abuse", "tel:+18004224453")])
def test_a_us_abuse_reply_puts_its_specialist_line_one_tap_away(kind: str, number: str) -> None:
    reply = crisis_reply("s", "US", kind)[0]
    hrefs = [link["href"] for link in reply["custom"]["links"]]
    assert hrefs == [number, *(link.href for link in REGIONS["US"].links)]
    assert number.removeprefix("tel:+1") in reply["text"].replace("-", "")  # the line the reply names
    assert [link["href"] for link in crisis_reply("s", "GB", kind)[0]["custom"]["links"]] == [
        link.href for link in REGIONS["GB"].links
    ]


@pytest.mark.unit
@pytest.mark.parametrize("code", list(REGIONS))
def test_every_region_link_is_a_number_or_site_its_banner_names(code: str) -> None:
    """One source of truth: a link never introduces a number the region's lines do not have."""
    region = REGIONS[code]
    named = "".join(ch for ch in region.banner + " ".join(region.required_numbers) if ch.isdigit())
    assert any(link.kind == "chat" for link in region.links)
    for link in region.links:
        scheme, _, target = link.href.partition(":")
        if scheme in ("tel", "sms"):
            assert target.isdigit() and target in named, (code, link)
            assert "".join(ch for ch in link.label if ch.isdigit()) == target, (code, link)
        else:
            assert link.href.startswith("https://") and link.kind == "chat", (code, link)


@pytest.mark.model
def test_a_conversations_region_sticks_for_the_fast_path_and_the_pipeline() -> None:
    sender = f"sticky-{uuid.uuid4().hex[:8]}"

    async def scenario() -> Tuple[List[Tuple[float, Dict]], List[Tuple[float, Dict]], FakeRasa]:
        rasa = FakeRasa("none")
        first = await _via_rest(rasa, sender, "how long is a session?", '{"region": "gb"}')
        await _via_rest(rasa, sender, "and how often?", None)
        crisis = await _via_rest(rasa, sender, "i want to kill myself", None)
        return first, crisis, rasa

    first, crisis, rasa = asyncio.run(scenario())
    assert [m.metadata for _, m in rasa.handled if not m.parse_data] == [{"region": "GB"}, {"region": "GB"}]
    assert [m for _, m in crisis] == crisis_reply(sender, "GB", "self")

"""What the channels accept from a client: sender ids, metadata, and REST bodies of any shape.

No input shape may cost a crisis reply, and nothing a client sends may reach Rasa in a
form that breaks it:

* **Metadata** is reduced at the channel to the keys the project uses: ``region``, kept
  only when it names a region we serve (a string of at most ``MAX_REGION_CHARS``). Any
  other key, any nesting and any size is dropped, so what Rasa copies and the tracker
  stores is at most ``{"region": "GB"}``. (Metadata nested 500-1,000 levels deep used to
  make Rasa's ``copy.deepcopy`` raise RecursionError, and the crisis message got the
  "unavailable" reply; metadata of any size was stored about four times.)
* **Sender ids** must be text every tracker store can hold: 1-128 characters, not only
  whitespace, no lone surrogates (SQLite's driver cannot encode them, so the conversation
  was never saved) and no control characters (PostgreSQL cannot store NUL). Such ids are
  refused with a 400 that says why, not normalised: two different ids must never be
  merged into one conversation.
* **REST bodies** are parsed with a depth-safe fallback: a body Python's JSON parser
  refuses only for its nesting (RecursionError) is scanned for ``sender``, ``message``
  and ``metadata.region`` without recursion, skipping the deep values, so the message is
  still answered. Bodies over ``MAX_BODY_BYTES`` are refused (413) before parsing.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any, Dict, Tuple

from bot.crisis.regions import normalise_region

#: Longest sender id accepted (characters).
MAX_SENDER_ID_CHARS = 128
#: Longest ``region`` value looked at.
MAX_REGION_CHARS = 32
#: Metadata keys kept and passed to Rasa (and so stored); everything else is dropped.
KEPT_METADATA_KEYS = ("region",)
#: Largest REST body parsed (bytes): a message longer than the screening limit
#: (bot/crisis/screening.py) gets the full crisis reply anyway, so nothing larger is needed.
MAX_BODY_BYTES = 4 * 1024 * 1024

_REFUSED_CATEGORIES = frozenset({"Cs", "Cc"})


class BadInput(ValueError):
    """A request the channel refuses; the message is the client-facing reason."""


def sender_problem(sender: Any) -> str | None:
    """Why ``sender`` cannot be a conversation id, or ``None`` when it can."""
    if not isinstance(sender, str) or not sender.strip():
        return "'sender' must be a non-empty string."
    if len(sender) > MAX_SENDER_ID_CHARS:
        return f"'sender' must be at most {MAX_SENDER_ID_CHARS} characters."
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in sender):
        return "'sender' must not contain control characters or unpaired surrogates."
    return None


def clean_metadata(metadata: Any) -> Dict[str, Any] | None:
    """The metadata Rasa gets: ``{"region": code}`` or ``None``; never anything else."""
    if not isinstance(metadata, dict):
        return None
    region = metadata.get("region")
    if isinstance(region, str) and len(region) <= MAX_REGION_CHARS:
        code = normalise_region(region)
        if code:
            return {"region": code}
    return None


# --- REST bodies ------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _skip_value(text: str, index: int) -> int:
    """The index after the JSON value starting at ``index``, found without recursion."""
    index = _skip_ws(text, index)
    if index < len(text) and text[index] not in "[{":
        try:
            return _DECODER.raw_decode(text, index)[1]
        except ValueError:
            raise BadInput("The body must be valid JSON.") from None
    depth, in_string, escaped = 0, False, False
    while index < len(text):
        ch = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise BadInput("The body must be valid JSON.")


def _scan_object(text: str, index: int, wanted: Tuple[str, ...]) -> Tuple[Dict[str, Any], int]:
    """The ``wanted`` keys of the object at ``index`` whose values are flat; others skipped.

    ``metadata`` is scanned the same way (one level down) for its ``region``.
    """
    found: Dict[str, Any] = {}
    index = _skip_ws(text, index)
    if index >= len(text) or text[index] != "{":
        raise BadInput("The body must be a JSON object.")
    index = _skip_ws(text, index + 1)
    if index < len(text) and text[index] == "}":
        return found, index + 1
    while True:
        try:
            key, index = _DECODER.raw_decode(text, _skip_ws(text, index))
        except ValueError:
            raise BadInput("The body must be valid JSON.") from None
        index = _skip_ws(text, index)
        if not isinstance(key, str) or index >= len(text) or text[index] != ":":
            raise BadInput("The body must be valid JSON.")
        start = _skip_ws(text, index + 1)
        if key == "metadata" and "metadata" in wanted and text.startswith("{", start):
            found[key], index = _scan_object(text, start, ("region",))
        else:
            index = _skip_value(text, start)
            if key in wanted and text[start] not in "[{":
                found[key] = json.loads(text[start:index])
        index = _skip_ws(text, index)
        if index < len(text) and text[index] == ",":
            index += 1
            continue
        if index < len(text) and text[index] == "}":
            return found, index + 1
        raise BadInput("The body must be valid JSON.")


def load_body(raw: bytes) -> Any:
    """The decoded JSON body, parsed safely whatever its nesting; raises ``BadInput``."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadInput(f"The body must be at most {MAX_BODY_BYTES:,} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("The body must be valid JSON (UTF-8).") from None
    try:
        return json.loads(text)
    except RecursionError:
        body, end = _scan_object(text, 0, ("sender", "message", "metadata"))
        if _skip_ws(text, end) != len(text):
            raise BadInput("The body must be valid JSON.") from None
        return body
    except ValueError:
        raise BadInput("The body must be valid JSON.") from None


def _scan_packet(text: str) -> list:
    """A socket.io event ``["name", {...}, ...]`` read without recursion (see ``DepthSafeJson``)."""
    index = _skip_ws(text, 0)
    if not text.startswith("[", index):
        raise ValueError("not a socket.io event")
    items: list = []
    index = _skip_ws(text, index + 1)
    while index < len(text) and text[index] != "]":
        start = index
        if text.startswith("{", start) and len(items) == 1:
            value, index = _scan_object(text, start, ("message", "session_id", "metadata"))
            items.append(value)
        else:
            index = _skip_value(text, start)
            items.append(json.loads(text[start:index]) if text[start] not in "[{" else None)
        index = _skip_ws(text, index)
        if index < len(text) and text[index] == ",":
            index = _skip_ws(text, index + 1)
    if index >= len(text):
        raise ValueError("unterminated socket.io event")
    return items


class DepthSafeJson:
    """The JSON module of the socket.io server: ``json``, plus a way round deep nesting.

    python-socketio decodes each event with ``json.loads``, which raises RecursionError on
    metadata nested about 1,000 levels deep, and the event, a crisis message included,
    was lost. Such an event is read here without recursion: the event name, and of its
    payload the ``message``, ``session_id`` and ``metadata.region`` (deep values dropped).
    """

    @staticmethod
    def dumps(*args: Any, **kwargs: Any) -> str:
        return json.dumps(*args, **kwargs)

    @staticmethod
    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return json.loads(text, *args, **kwargs)
        except RecursionError:
            if isinstance(text, (bytes, bytearray)):
                text = bytes(text).decode("utf-8")
            return _scan_packet(text)


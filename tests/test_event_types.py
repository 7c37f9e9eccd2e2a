"""The event-class table (bot/rasa_patches/event_types.py) answers exactly as Rasa's class-tree walk.

The test session runs with the patches installed (tests/conftest.py); ``ORIGINAL`` is Rasa's
own lookup, captured by bot.rasa_patches before anything was installed.
"""

from __future__ import annotations

import pytest
import rasa.shared.utils.common
from rasa.shared.core.events import ActionExecuted, Event, UserUttered

from bot.rasa_patches import event_types, original

pytestmark = pytest.mark.unit

ORIGINAL = original("rasa.shared.core.events:Event.resolve_by_type")


def test_rasa_resolves_event_types_through_the_table() -> None:
    assert ORIGINAL is not event_types.resolve_by_type
    assert Event.resolve_by_type is event_types.resolve_by_type


def test_every_known_event_type_resolves_to_the_same_class() -> None:
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert {"user", "action", "bot", "slot", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is ORIGINAL(name)


def test_unknown_names_behave_as_in_rasa() -> None:
    for resolve in (ORIGINAL, Event.resolve_by_type):
        assert resolve("topic") is None
        assert resolve("no-such-event", UserUttered) is UserUttered
        with pytest.raises(ValueError, match="Unknown event name 'no-such-event'"):
            resolve("no-such-event")


def test_an_event_class_defined_later_is_found() -> None:
    Event.resolve_by_type("action")  # the table exists before the new class does

    class Defined_later(ActionExecuted):  # noqa: N801
        type_name = "defined_later_for_test"

    assert Event.resolve_by_type("defined_later_for_test") is Defined_later is ORIGINAL("defined_later_for_test")


def test_events_read_back_through_rasa_use_the_table() -> None:
    events = Event.from_parameters({"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}})
    assert isinstance(events, UserUttered) and events.text == "hi"

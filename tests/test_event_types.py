"""The event-class table (bot/event_types.py) answers exactly as Rasa's class-tree walk."""

from __future__ import annotations

from typing import Iterator

import pytest
import rasa.shared.utils.common
from rasa.shared.core.events import ActionExecuted, Event, UserUttered

from bot import event_types

ORIGINAL = Event.__dict__["resolve_by_type"].__func__


@pytest.fixture()
def applied() -> Iterator[None]:
    saved = Event.__dict__["resolve_by_type"]
    event_types.apply()
    yield
    Event.resolve_by_type = saved


def test_every_known_event_type_resolves_to_the_same_class(applied: None) -> None:
    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert {"user", "action", "bot", "slot", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is ORIGINAL(name)


def test_unknown_names_behave_as_in_rasa(applied: None) -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no-such-event", UserUttered) is UserUttered
    with pytest.raises(ValueError, match="Unknown event name 'no-such-event'"):
        Event.resolve_by_type("no-such-event")


def test_an_event_class_defined_later_is_found(applied: None) -> None:
    Event.resolve_by_type("action")  # the table exists before the new class does

    class Defined_later(ActionExecuted):  # noqa: N801
        type_name = "defined_later_for_test"

    assert Event.resolve_by_type("defined_later_for_test") is Defined_later


def test_events_read_back_through_rasa_use_the_table(applied: None) -> None:
    events = Event.from_parameters({"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}})
    assert isinstance(events, UserUttered) and events.text == "hi"

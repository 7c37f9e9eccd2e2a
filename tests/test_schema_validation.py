"""The cached JSON-schema check (bot/schema_validation.py) decides exactly as jsonschema does."""

from __future__ import annotations

import importlib
from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import SchemaError, ValidationError

from bot import schema_validation

ORIGINAL = jsonschema.validators.validate


@pytest.fixture(scope="module")
def schema() -> Any:
    from rasa.core.actions.action import RemoteAction

    return RemoteAction.action_response_format_spec()


@pytest.mark.parametrize(
    "response",
    [
        {"events": [], "responses": [{"text": "hi"}]},
        {"events": [{"event": "slot", "name": "topic", "value": "cost"}], "responses": []},
        {"events": "not a list", "responses": []},
        {"events": [{"no_event_key": 1}], "responses": []},
        {"responses": [{"text": 5}]},
    ],
)
def test_same_decision_and_error_as_jsonschema(schema: Any, response: Any) -> None:
    try:
        ORIGINAL(response, schema)
        expected = None
    except ValidationError as error:
        expected = error.message
    try:
        schema_validation.validate(response, schema)
        got = None
    except ValidationError as error:
        got = error.message
    assert got == expected


def test_an_invalid_schema_is_still_refused() -> None:
    with pytest.raises(SchemaError):
        schema_validation.validate({}, {"type": "no-such-type"})


def test_rasa_gets_the_cached_version_once_channels_are_loaded() -> None:
    importlib.import_module("bot.channels")  # applies the process settings, as in the server
    assert jsonschema.validate is schema_validation.validate

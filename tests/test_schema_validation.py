"""The cached JSON-schema check (bot/rasa_patches/schema_validation.py) decides exactly as jsonschema does."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import SchemaError, ValidationError

from bot.rasa_patches import original, schema_validation

pytestmark = pytest.mark.unit

#: jsonschema's own check, as Rasa called it before the patches were installed.
ORIGINAL = original("jsonschema:validate")


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


@pytest.fixture()
def walks(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records every full check (``best_match`` over the validator's errors) that runs."""
    calls: list = []
    original = schema_validation.best_match

    def counting(errors: Any) -> Any:
        calls.append(1)
        return original(errors)

    monkeypatch.setattr(schema_validation, "best_match", counting)
    monkeypatch.setattr(schema_validation, "_valid", type(schema_validation._valid)())
    return calls


def test_a_valid_reply_seen_before_is_not_walked_again(schema: Any, walks: list) -> None:
    reply = {"events": [{"event": "slot", "name": "topic", "value": "cost"}], "responses": [{"text": "hi"}]}
    schema_validation.validate(reply, schema)
    schema_validation.validate({"responses": [{"text": "hi"}], "events": reply["events"]}, schema)  # other key order
    assert len(walks) == 1
    schema_validation.validate({**reply, "responses": [{"text": "hello"}]}, schema)
    assert len(walks) == 2


def test_an_invalid_reply_is_refused_every_time(schema: Any, walks: list) -> None:
    for _ in range(3):
        with pytest.raises(ValidationError):
            schema_validation.validate({"events": [{"no_event_key": 1}]}, schema)
    assert len(walks) == 3


def test_the_remembered_replies_are_bounded(schema: Any, walks: list, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_validation, "REMEMBERED_VALID", 5)
    for i in range(20):
        schema_validation.validate({"events": [], "responses": [{"text": f"answer {i}"}]}, schema)
    assert len(schema_validation._valid) == 5
    schema_validation.validate({"events": [], "responses": [{"text": "answer 19"}]}, schema)  # still remembered
    schema_validation.validate({"events": [], "responses": [{"text": "answer 0"}]}, schema)  # forgotten
    assert len(walks) == 21


def test_an_invalid_schema_is_still_refused() -> None:
    with pytest.raises(SchemaError):
        schema_validation.validate({}, {"type": "no-such-type"})


def test_rasa_gets_the_cached_version_once_the_patches_are_installed() -> None:
    assert ORIGINAL is jsonschema.validators.validate
    assert jsonschema.validate is schema_validation.validate

"""Lever experiment: build each JSON-schema validator once instead of on every call.

Rasa 3.6 checks every action server response with ``jsonschema.validate``, which first
validates the *schema itself* against the Draft 2020-12 meta-schema, on every call:
about 50 ms of CPU per custom action on the benchmark machine, a third of a turn. This
module replaces ``jsonschema.validate`` with a version that checks each distinct schema
once and reuses its validator; the results (valid or the same best-match error) are
unchanged.

Not part of the bot; applied through ``bench/levers/sitecustomize.py``::

    python -m bench.run --configs ours --env PYTHONPATH=$PWD/bench/levers --env BENCH_LEVERS=jsonschema_cache
"""

from __future__ import annotations

import json
from typing import Any, Dict

import jsonschema
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

_validators: Dict[str, Any] = {}


def validate(instance: Any, schema: Dict[str, Any], cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """Same contract as ``jsonschema.validate``, with the schema checked once per distinct schema."""
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _validators.get(key)
    if validator is None:
        validator_class = cls or validator_for(schema)
        validator_class.check_schema(schema)
        validator = _validators[key] = validator_class(schema, *args, **kwargs)
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise error


jsonschema.validate = validate

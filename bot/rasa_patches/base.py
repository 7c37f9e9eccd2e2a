"""What a patch of Rasa is: the names it replaces, the Rasa code that must still use them, and how.

A patch is an assignment to a name inside Rasa (or a library Rasa calls). The assignment
succeeds whatever Rasa does with the name, so after an upgrade a patch could silently
stop taking effect: the name renamed, or the code that read it rewritten. Each
``Target`` therefore says which function of Rasa reads the name, and ``problems()``
checks, before anything is installed, that the name still exists and that the function's
compiled code still refers to it.
"""

from __future__ import annotations

import importlib
import types
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Tuple


def resolve(path: str) -> Any:
    """The object at ``"package.module:Class.attribute"`` (``AttributeError``/``ImportError`` if gone)."""
    module_name, _, attribute = path.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _code_names(code: types.CodeType) -> Iterator[str]:
    """Every global, attribute and imported name a function's code refers to, nested functions included."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_names(constant)


@dataclass(frozen=True)
class Target:
    """One name a patch replaces, and the Rasa function whose code must still read it.

    ``path`` and ``used_by`` are ``"module:qualified.name"``; the name checked in
    ``used_by``'s code is the last part of ``path``.
    """

    path: str
    used_by: str

    def problems(self, original: Callable[[str], Any]) -> List[str]:
        """Why the patch of this name would no longer take effect (empty when it still would).

        ``original(path)`` gives the object at a path as Rasa defined it, so the check
        reads Rasa's code even where another patch already replaced ``used_by``.
        """
        try:
            original(self.path)
        except (ImportError, AttributeError):
            return [f"{self.path} no longer exists"]
        try:
            user = original(self.used_by)
        except (ImportError, AttributeError):
            return [f"{self.used_by}, which read {self.path}, no longer exists"]
        code = getattr(user, "__code__", None)
        name = self.path.rpartition(".")[2].rpartition(":")[2]
        if code is None or name not in set(_code_names(code)):
            return [f"{self.used_by} no longer refers to {name}, so patching {self.path} would change nothing"]
        return []


@dataclass(frozen=True)
class Patch:
    """A replacement of Rasa behaviour: its name, what it replaces, what it gained, how to install it."""

    name: str
    targets: Tuple[Target, ...]
    #: One line for the log: what is replaced and the gain measured with ``make bench``.
    summary: str
    apply: Callable[[], None]

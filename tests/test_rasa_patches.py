"""The patch package (bot/rasa_patches/): checked before installing, installed by every entry point.

The test session runs patched (tests/conftest.py installs the patches, as the servers
do); ``rasa_patches.original`` is Rasa's own code, captured before anything was installed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest
import rasa
import rasa.core.actions.action as rasa_action
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot import patched_rasa, rasa_patches
from bot.rasa_patches import action_timeout
from bot.rasa_patches.base import Target
from tests.support import ROOT, free_port, installed_patches

pytestmark = pytest.mark.unit

PATCH_NAMES = [patch.name for patch in rasa_patches.PATCHES]


def test_every_patch_fits_the_installed_rasa() -> None:
    assert rasa.__version__ == rasa_patches.RASA_VERSION
    assert rasa_patches.check() == []
    assert PATCH_NAMES == [
        "action_timeout", "schema_validation", "event_types", "graph_runner", "heap", "endpoint_sessions",
        "session_count", "domain_empty", "worker_stop",
    ]


def test_every_patched_name_now_holds_the_replacement() -> None:
    for patch in rasa_patches.PATCHES:
        for target in patch.targets:
            if target.path.endswith("DEFAULT_REQUEST_TIMEOUT"):
                continue  # a number, compared in the action timeout tests
            if patch.name == "session_count":
                continue  # replaced only with metrics on: tests/test_metrics.py counts sessions
            installed = rasa_patches.base.resolve(target.path)
            assert installed is not rasa_patches.original(target.path), target.path


def test_a_name_that_is_gone_or_no_longer_read_is_reported() -> None:
    gone = Target("rasa.core.agent:no_such_loader", used_by="rasa.core.run:load_agent_on_start")
    assert gone.problems(rasa_patches.base.resolve) == ["rasa.core.agent:no_such_loader no longer exists"]
    unread = Target("rasa.core.agent:load_agent", used_by="rasa.core.run:configure_app")
    assert unread.problems(rasa_patches.base.resolve) == [
        "rasa.core.run:configure_app no longer refers to load_agent, so patching rasa.core.agent:load_agent "
        "would change nothing"
    ]
    reader_gone = Target("rasa.core.agent:load_agent", used_by="rasa.core.run:no_such_function")
    assert "no longer exists" in reader_gone.problems(rasa_patches.base.resolve)[0]


def test_another_rasa_version_refuses_to_start_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    monkeypatch.setattr(rasa_patches, "_installed", False)
    applied: list = []
    counting = tuple(dataclasses.replace(patch, apply=lambda: applied.append(1)) for patch in rasa_patches.PATCHES)
    monkeypatch.setattr(rasa_patches, "PATCHES", counting)
    with pytest.raises(SystemExit) as refused:
        patched_rasa.install_patches()
    message = str(refused.value.code)
    assert message.startswith("Not starting: the Rasa patches in bot/rasa_patches/ do not fit")
    assert "Rasa 3.7.0 is installed, but the patches were written for Rasa 3.6.21" in message
    assert applied == []


def test_install_twice_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    installed = {t.path: rasa_patches.base.resolve(t.path) for p in rasa_patches.PATCHES for t in p.targets}
    with caplog.at_level(logging.INFO, logger="bot.rasa_patches"):
        rasa_patches.install()
    assert caplog.records == []
    assert installed == {t.path: rasa_patches.base.resolve(t.path) for p in rasa_patches.PATCHES for t in p.targets}


def test_the_entry_point_logs_one_line_per_installed_patch(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    applied: list = []
    counting = tuple(
        dataclasses.replace(patch, apply=lambda name=patch.name: applied.append(name)) for patch in rasa_patches.PATCHES
    )
    monkeypatch.setattr(rasa_patches, "PATCHES", counting)
    monkeypatch.setattr(rasa_patches, "_installed", False)
    patched_rasa.install_patches()
    assert applied == PATCH_NAMES
    assert installed_patches(capsys.readouterr().err) == PATCH_NAMES  # before Rasa has configured logging


@pytest.mark.parametrize("script", ["scripts/run.sh", "scripts/shell.sh"])
def test_the_scripts_start_rasa_only_through_the_entry_point(script: str) -> None:
    text = (ROOT / script).read_text(encoding="utf-8")
    assert "-m bot.patched_rasa " in text
    assert ".venv/bin/rasa " not in text


# --- the action timeout, against Rasa's own RemoteAction.run ------------------------------


def test_rasa_waits_five_minutes_the_patch_waits_action_timeout() -> None:
    assert rasa_patches.original("rasa.core.actions.action:DEFAULT_REQUEST_TIMEOUT") == 300
    assert rasa_action.DEFAULT_REQUEST_TIMEOUT == action_timeout.action_timeout_seconds() == 10


def _run(run: object) -> object:
    """``run`` (a ``RemoteAction.run``) against an action server that is not there."""
    action = RemoteAction("action_answer_topic", EndpointConfig(url=f"http://127.0.0.1:{free_port()}/webhook"))
    domain = Domain.empty()
    tracker = DialogueStateTracker("patch-test", slots=[])
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    return asyncio.run(run(action, CollectingOutputChannel(), nlg, tracker, domain))  # type: ignore[operator]


def test_an_unreachable_action_server_is_one_warning_not_an_exception(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(RasaException):
        _run(rasa_patches.original("rasa.core.actions.action:RemoteAction.run"))
    with caplog.at_level(logging.WARNING):
        assert _run(RemoteAction.run) == []
    warnings = [r.getMessage() for r in caplog.records if r.name == action_timeout.__name__]
    assert len(warnings) == 1 and warnings[0].startswith("Action failed: type=RasaException action=action_answer_topic")


def test_session_count_counts_then_runs_rasas_own_session_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.actions.action import ActionSessionStart

    from bot import metrics
    from bot.rasa_patches import session_count

    calls: list = []

    async def rasas_own(self: object, *args: object) -> list:
        calls.append("rasa")
        return ["events"]

    monkeypatch.setattr(ActionSessionStart, "run", rasas_own)
    monkeypatch.setattr(metrics, "enabled", lambda: False)
    session_count.apply()
    assert ActionSessionStart.run is rasas_own, "with metrics off Rasa's action stays as it is"
    monkeypatch.setattr(metrics, "enabled", lambda: True)
    monkeypatch.setattr(metrics, "record_conversation_started", lambda: calls.append("counted"))
    session_count.apply()
    assert asyncio.run(ActionSessionStart.run(object(), "channel")) == ["events"]
    assert calls == ["counted", "rasa"]


def test_domain_empty_answers_as_rasa_does() -> None:
    rasas_own = rasa_patches.original("rasa.shared.core.domain:Domain.is_empty")
    for domain in (Domain.load(str(ROOT / "domain.yml")), Domain.empty(), Domain.from_dict({"intents": ["greet"]})):
        assert domain.is_empty() is rasas_own(domain)
    assert Domain.empty().is_empty() and not Domain.load(str(ROOT / "domain.yml")).is_empty()

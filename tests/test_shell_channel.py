"""The Rasa shell, driven in a real terminal (pexpect) the way a developer uses it.

``make shell`` runs ``scripts/shell.sh``: the action server plus ``rasa shell``. The test
types a question, reads the curated answer with its buttons and sources, types a crisis
message, reads the crisis resources and exits with
``/stop``. Nothing is mocked: it is the same model, actions, endpoints and Rasa patches as
``make run`` (Rasa's console channel never imports the project's channels, so the patches
reach the shell only through ``bot.patched_rasa``).
"""

from __future__ import annotations

import os
import re
import tempfile

import pexpect
import pytest

from actions.knowledge import KnowledgeBase
from bot import rasa_patches
from tests.support import OUTPUT, ROOT, free_port, installed_patches

pytestmark = pytest.mark.service

#: prompt_toolkit redraws with ANSI escapes; they are removed before matching.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\r")


def _plain(text: str) -> str:
    return " ".join(_ANSI.sub("", text).split())


@pytest.fixture()
def shell(tmp_path_factory: pytest.TempPathFactory) -> pexpect.spawn:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "DATA_DIR": tempfile.mkdtemp(prefix="shell-data-", dir=tmp_path_factory.getbasetemp()),
        "TERM": "xterm",
    }
    env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{env['ACTIONS_PORT']}/webhook"
    child = pexpect.spawn(
        "scripts/shell.sh", cwd=str(ROOT), env=env, encoding="utf-8", timeout=240, dimensions=(60, 400)
    )
    child.logfile_read = open(OUTPUT / "shell.log", "w", encoding="utf-8")
    yield child
    if child.isalive():
        child.terminate(force=True)
    child.logfile_read.close()


def test_shell_answers_a_question_and_a_crisis_message(shell: pexpect.spawn, kb: KnowledgeBase) -> None:
    shell.expect("Bot loaded")
    patched = installed_patches(_plain(shell.before))
    assert patched == [patch.name for patch in rasa_patches.PATCHES], "make shell must run patched"
    shell.expect("Your input ->")
    shell.sendline("how long does a therapy session last?")

    # The shell prints the answer, its related-topic buttons and the payload with the sources.
    answer = kb.topics["session_length"]
    shell.expect('"related"')
    printed = shell.before + shell.after
    shell.expect("Your input ->")
    shown = _plain(printed + shell.before)
    assert " ".join(answer.short.split())[:80] in shown, shown[-2000:]
    for related in answer.related:
        assert f"{kb.topics[related].title} (/{related})" in shown
    for source in kb.source_titles_of(answer):
        assert source in shown

    shell.sendline("i don't want to be alive anymore")
    shell.expect("988")
    shell.expect("Your input ->")
    crisis = _plain(shell.before)
    assert "911" in crisis and "24/7" in crisis, crisis

    shell.sendline("/stop")
    shell.expect(pexpect.EOF, timeout=60)
    shell.close()
    assert shell.exitstatus == 0, (shell.exitstatus, shell.signalstatus)

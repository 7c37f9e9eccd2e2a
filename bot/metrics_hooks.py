"""Where the servers report to bot/metrics.py that Rasa and rasa-sdk have no hook for.

Why: the action server runs actions in rasa-sdk's executor, which offers no callback, and
the Rasa server's info line and crisis response check need the server's start and stop.
Each hook only counts (never reads what people wrote) and is installed only when metrics
are on. Counting conversation sessions changes Rasa's own code, so it is a Rasa patch
(``bot/rasa_patches/session_count.py``), installed and checked with the others.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bot import metrics


def attach(blueprint: Any) -> None:
    """Publishes the Rasa server's info line and runs the crisis response check while it serves.

    Registered on the REST channel's blueprint, which every Rasa server here has
    (credentials.yml). After the server stops, the process's live gauges are removed, so
    a stopped Sanic worker no longer counts in the crisis check.
    """
    if not metrics.enabled():
        return
    tasks: list[asyncio.Task] = []

    async def started(app: Any, _loop: Any) -> None:
        import rasa

        from bot.channels.crisis_check import check_forever

        agent = getattr(app.ctx, "agent", None)
        model = getattr(getattr(agent, "processor", None), "model_metadata", None)
        metrics.start("rasa", rasa.__version__, getattr(model, "model_id", None))
        tasks.append(asyncio.get_running_loop().create_task(check_forever()))

    async def stopping(_app: Any, _loop: Any) -> None:
        for task in tasks:
            task.cancel()
        metrics.process_stopped(os.getpid())

    blueprint.listener("after_server_start")(started)
    blueprint.listener("before_server_stop")(stopping)


def apply_action_server() -> None:
    """Counts each custom action the action server runs, and whether it raised."""
    if not metrics.enabled():
        return
    import rasa_sdk
    from rasa_sdk.executor import ActionExecutor

    original = ActionExecutor.run
    if getattr(original, "therapy_bot_counted", False):
        return

    async def run(self: Any, action_call: Any) -> Any:
        name = action_call.get("next_action") if isinstance(action_call, dict) else None
        try:
            result = await original(self, action_call)
        except Exception:
            metrics.record_action_run(name, ok=False)
            raise
        metrics.record_action_run(name, ok=True)
        return result

    run.therapy_bot_counted = True  # type: ignore[attr-defined]
    ActionExecutor.run = run  # type: ignore[method-assign]
    metrics.start("actions", rasa_sdk.__version__)

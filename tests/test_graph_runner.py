"""The ordered graph runner (bot/rasa_patches/graph_runner.py) gives exactly what Rasa's dask runner gives."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_patches import original
from bot.rasa_patches.graph_runner import OrderedGraphRunner
from tests.support import MODEL, ROOT


class Arithmetic(GraphComponent):
    """A tiny component for graphs whose every result is known."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.add = config.get("add", 0)

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Arithmetic:
        return cls(config)

    def plus(self, value: int) -> int:
        return value + self.add

    def total(self, left: int, right: int) -> int:
        return left + right

    def fail(self, value: int) -> int:
        raise RuntimeError("this node always fails")


def _node(fn: str, needs: Dict[str, str], **config: Any) -> SchemaNode:
    return SchemaNode(needs=needs, uses=Arithmetic, constructor_name="create", fn=fn, config=config)


#: A diamond: both branches need "start", and "sum" needs both branches.
DIAMOND = GraphSchema(
    {
        "start": _node("plus", {"value": "__x__"}, add=1),
        "left": _node("plus", {"value": "start"}, add=10),
        "right": _node("plus", {"value": "start"}, add=100),
        "sum": _node("total", {"left": "left", "right": "right"}),
        "unrelated": _node("fail", {"value": "__x__"}),
    }
)


def _runners(schema: GraphSchema, tmp_path: Path) -> Tuple[DaskGraphRunner, OrderedGraphRunner]:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(graph_schema=schema)
    return DaskGraphRunner.create(schema, storage, context), OrderedGraphRunner.create(schema, storage, context)


@pytest.mark.unit
@pytest.mark.parametrize("targets", [["sum"], ["left", "right"], ["start"], ["sum", "start"]])
def test_same_results_as_dask_for_a_diamond(tmp_path: Path, targets: List[str]) -> None:
    dask_runner, ordered = _runners(DIAMOND, tmp_path)
    expected = dask_runner.run(inputs={"__x__": 1}, targets=targets)
    assert ordered.run(inputs={"__x__": 1}, targets=targets) == expected
    assert ordered.run(inputs={"__x__": 5}, targets=targets) == dask_runner.run(inputs={"__x__": 5}, targets=targets)
    if targets == ["sum"]:
        assert expected == {"sum": (1 + 1 + 10) + (1 + 1 + 100)}


@pytest.mark.unit
def test_only_the_nodes_the_targets_need_are_run(tmp_path: Path) -> None:
    _dask, ordered = _runners(DIAMOND, tmp_path)
    assert [name for name, _node, _needs in ordered.plan(["sum"])][-1] == "sum"
    assert "unrelated" not in {name for name, _node, _needs in ordered.plan(["sum"])}
    assert ordered.run(inputs={"__x__": 0}, targets=["sum"])  # "unrelated" would raise


@pytest.mark.unit
def test_a_failing_node_raises_what_dask_raises(tmp_path: Path) -> None:
    dask_runner, ordered = _runners(DIAMOND, tmp_path)
    raised = []
    for runner in (dask_runner, ordered):
        with pytest.raises(Exception) as error:
            runner.run(inputs={"__x__": 0}, targets=["unrelated"])
        raised.append((type(error.value), str(error.value), type(error.value.__cause__)))
    assert raised[0] == raised[1]
    assert raised[1][0] is GraphComponentException and raised[1][2] is RuntimeError


@pytest.mark.unit
def test_an_input_value_naming_a_node_is_refused_like_dask(tmp_path: Path) -> None:
    dask_runner, ordered = _runners(DIAMOND, tmp_path)
    for runner in (dask_runner, ordered):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            runner.run(inputs={"__x__": "left"}, targets=["sum"])


@pytest.mark.unit
def test_an_input_named_like_a_node_stands_in_for_it_like_dask(tmp_path: Path) -> None:
    dask_runner, ordered = _runners(DIAMOND, tmp_path)
    inputs = {"__x__": 1, "left": 1000}
    assert ordered.run(inputs=inputs, targets=["sum"]) == dask_runner.run(inputs=inputs, targets=["sum"])


# The trained model: every NLU and policy output is the same with either runner.


@pytest.fixture(scope="module")
def model_runners(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Tuple[Any, DaskGraphRunner, OrderedGraphRunner]]:
    from rasa.engine import loader

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run the tests through `make test`, which trains it")
    metadata, dask_runner = loader.load_predict_graph_runner(
        tmp_path_factory.mktemp("dask"), MODEL, LocalModelStorage, DaskGraphRunner
    )
    _metadata, ordered = loader.load_predict_graph_runner(
        tmp_path_factory.mktemp("ordered"), MODEL, LocalModelStorage, OrderedGraphRunner
    )
    yield metadata, dask_runner, ordered


def _parse(runner: Any, metadata: Any, text: str) -> Dict[str, Any]:
    from rasa.core.channels.channel import UserMessage

    result = runner.run(inputs={"__message__": [UserMessage(text)]}, targets=[metadata.nlu_target])
    message: Message = result[metadata.nlu_target][0]
    data = message.as_dict()
    data.pop("message_id", None)  # a fresh id for every UserMessage
    return data


def _held_out_texts() -> List[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [m.get("text") for m in load_data(str(ROOT / "tests" / "nlu_test_data.yml")).intent_examples]


MESSAGES = [
    *_held_out_texts()[::7],
    "I want to kill myself",
    "/greet I want to die",
    "/tell_me_more",
    "",
    "¿cuánto cuesta la terapia?",
]


@pytest.mark.model
@pytest.mark.parametrize("text", MESSAGES)
def test_nlu_parse_is_the_same_as_with_dask(model_runners: Any, text: str) -> None:
    metadata, dask_runner, ordered = model_runners
    assert _parse(ordered, metadata, text) == _parse(dask_runner, metadata, text)


@pytest.mark.model
def test_policy_predictions_are_the_same_as_with_dask(model_runners: Any) -> None:
    from rasa.shared.core.domain import Domain

    metadata, dask_runner, ordered = model_runners
    domain: Domain = metadata.domain
    tracker = DialogueStateTracker("graph-runner-test", domain.slots)
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    compared = 0
    for text in ("how long is a session?", "and how often?", "tell me more", "I want to end my life", "thanks"):
        parse_data = _parse(ordered, metadata, text)
        tracker.update(UserUttered(text, parse_data["intent"], parse_data.get("entities", []), parse_data))
        while True:
            expected = dask_runner.run(inputs={"__tracker__": tracker}, targets=[metadata.core_target])
            got = ordered.run(inputs={"__tracker__": tracker}, targets=[metadata.core_target])
            assert got == expected
            compared += 1
            prediction = got[metadata.core_target]
            action = domain.action_names_or_texts[prediction.max_confidence_index]
            tracker.update(ActionExecuted(action, policy=prediction.policy_name))
            if action == "action_listen":
                break
    assert compared >= 10


@pytest.mark.unit
def test_rasa_loads_models_with_the_ordered_runner_once_the_patches_are_installed() -> None:
    import rasa.core.processor

    assert original("rasa.core.processor:DaskGraphRunner") is DaskGraphRunner
    assert rasa.core.processor.DaskGraphRunner is OrderedGraphRunner


@pytest.mark.model
def test_a_served_turn_runs_through_the_ordered_runner(event_loop_for_agent: asyncio.AbstractEventLoop) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    assert isinstance(agent.processor.graph_runner, OrderedGraphRunner)
    parsed = event_loop_for_agent.run_until_complete(agent.parse_message("is therapy confidential?"))
    assert parsed["intent"]["name"] == "confidentiality"

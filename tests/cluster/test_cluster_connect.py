"""The start-up check of the cluster's nodes (connect._check_nodes) with a stand-in for the `ray` module: what
each node's probe answers decides, before any work, whether the run may start."""

from __future__ import annotations

from typing import Any

import pytest

from patchjury.core.cluster.config import RayConfig
from patchjury.core.cluster.connect import _check_nodes
from patchjury.core.cluster.errors import ClusterError

pytestmark = pytest.mark.ray  # ray.util's scheduling strategy is imported for real


class _Task:
    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers, self.node = answers, ""

    def options(self, scheduling_strategy: Any) -> _Task:
        self.node = scheduling_strategy.node_id
        return self

    def remote(self, *args: Any) -> str:
        return self.node


class _Ray:
    """nodes(), remote(), wait(), get(): each node's probe answers what `answers` says for it."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        import ray

        self.exceptions = ray.exceptions
        self.answers = answers

    def nodes(self) -> list[dict[str, Any]]:
        return [
            {
                "NodeID": nid,
                "Alive": True,
                "Resources": {"patchjury_slots": 2},
                "NodeManagerAddress": f"10.0.0.{i}",
            }
            for i, nid in enumerate(self.answers)
        ]

    def remote(self, **_: Any) -> Any:
        return lambda fn: _Task(self.answers)

    def wait(self, refs: list[str], num_returns: int, timeout: float) -> tuple[list[str], list[str]]:
        return refs, []

    def get(self, ref: str) -> dict[str, Any]:
        return self.answers[ref]


def test_a_node_with_another_patchjury_version_stops_the_run_before_any_work() -> None:
    import patchjury

    same = {"node_id": "a" * 56, "host": "n0", "version": patchjury.__version__, "docker": "27.0"}
    nodes = _check_nodes(_Ray({"a" * 56: same}), RayConfig(address="auto"), "run-1")
    assert [n["host"] for n in nodes] == ["n0"] and nodes[0]["slots"] == 2

    other = {**same, "node_id": "b" * 56, "host": "n1", "version": "0.0.9"}
    with pytest.raises(ClusterError) as err:
        _check_nodes(_Ray({"a" * 56: same, "b" * 56: other}), RayConfig(address="auto"), "run-1")
    assert str(err.value) == (
        f"node 10.0.0.1 (bbbbbbbb) runs patchjury 0.0.9, this driver {patchjury.__version__}: install the same "
        "patchjury version there"
    )

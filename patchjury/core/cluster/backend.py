"""The Ray cluster as a core.pipeline Backend: a task's trajectories and its jury's containers on the nodes.

    plan, backend = cluster_plan(spec, cluster), RayBackend(spec, cluster)
    run_task(task, plan, settings, run_dir, backend=backend)        # same files as a local run

`info` collects what the front door records: the image the nodes used (and the seconds it took the first of
them), the nodes that ran trajectories, and the bytes of checkpoints and bundles that travelled.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchjury.core.cluster.connect import Cluster
from patchjury.core.cluster.errors import NodeLostError
from patchjury.core.cluster.node import NodeEnvSpec
from patchjury.core.pipeline import EnvClock
from patchjury.envs.plan import EnvPlan, repo_env_config
from patchjury.envs.protocol import Env
from patchjury.records import Candidate, Task

if TYPE_CHECKING:
    from patchjury.agent.config import AgentConfig, ModelConfig
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.static_check import StaticChecker


@dataclass(kw_only=True)
class ClusterPlan(EnvPlan):
    """Where a task's Envs run when they run on the cluster (`new_env` gives an Env on some node)."""

    spec: NodeEnvSpec
    cluster: Cluster

    def new_env(self) -> Env:
        from patchjury.core.cluster.remote_env import RemoteEnv

        return RemoteEnv(self.spec, self.cluster)


def cluster_plan(spec: NodeEnvSpec, cluster: Cluster) -> ClusterPlan:
    nodes = len(cluster.nodes)
    what = "instance image" if spec.kind == "swebench" else "image"
    return ClusterPlan(
        # what each node starts from: its own image, with the settings' limits (see node.prepare)
        config=repo_env_config(spec.env, f"(the {what} each node builds or pulls)", None, "", spec.labels),
        description=(
            f"Ray cluster {cluster.config.address}: {nodes} node(s) with Docker, {cluster.slots} slot(s); each "
            f"node builds or pulls the {what}" + (f" (registry {spec.registry})" if spec.registry else "")
        ),
        spec=spec,
        cluster=cluster,
    )


@dataclass
class RayBackend:
    """core.pipeline.Backend on a Ray cluster."""

    spec: NodeEnvSpec
    cluster: Cluster
    info: dict[str, Any] = field(default_factory=dict)

    def trajectories(
        self,
        task: Task,
        run_dir: Path,
        config: AgentConfig,
        models: list[ModelConfig],
        *,
        progress: bool | None,
        on_event: Callable[[Any], None] | None,
        clock: EnvClock,
        indices: Sequence[int] | None = None,
        stop: threading.Event | None = None,
    ) -> list[Candidate]:
        from patchjury.core.cluster.trajectories import run_trajectories_ray

        nodes: set[str] = set()

        def on_info(item: dict[str, Any]) -> None:
            if item["kind"] == "image" and "image" not in self.info:
                self.info["image"], self.info["image_seconds"] = item["tag"], round(item["seconds"], 2)
            if item["kind"] == "image" and item.get("warning"):
                warnings = self.info.setdefault("warnings", [])
                if item["warning"] not in warnings:
                    warnings.append(item["warning"])
            elif item["kind"] == "node":
                nodes.add(str(item.get("node_id", "?"))[:12])
            elif item["kind"] == "done":
                clock.add(float(item.get("env_seconds") or 0.0))

        display = None
        if progress or (progress is None and sys.stderr.isatty()):
            from patchjury.agent.progress import LiveProgress

            display = LiveProgress(task.instance_id, config.n_trajectories, forward=on_event)
            on_event = display.on_event
            display.start()
        try:
            return run_trajectories_ray(
                task,
                self.spec,
                run_dir,
                config,
                models,
                cluster=self.cluster,
                on_event=on_event,
                on_info=on_info,
                indices=indices,
                stop=stop,
            )
        finally:
            if display is not None:
                display.stop()
            self.info["nodes"] = sorted(nodes | set(self.info.get("nodes", [])))  # over every wave

    def jury(
        self,
        task: Task,
        candidates: list[Candidate],
        config: SelectionConfig,
        *,
        static: StaticChecker | None,
        progress: bool,
        clock: EnvClock,
    ) -> Any:
        """selection.pipeline.run_instance with the jury's Envs on the cluster (its slots reserved together);
        once more with fresh Envs if a node died under it (cells are independent, nothing is lost)."""
        from patchjury.core.cluster.remote_env import JurySlots
        from patchjury.selection.errors import ExecutionError
        from patchjury.selection.pipeline import run_instance

        for attempt in (1, 2):
            try:
                with JurySlots(self.spec, self.cluster, config.execution.workers) as slots:
                    # one Env per reserved slot: the pool never waits for a slot it does not hold
                    execution = config.execution.model_copy(update={"workers": slots.size})
                    return run_instance(
                        task,
                        candidates,
                        config.model_copy(update={"execution": execution}),
                        env_factory=lambda: clock.wrap(slots.factory()),
                        static=static,
                        progress=progress,
                    )
            except ExecutionError as exc:
                if attempt == 2 or not isinstance(exc.__cause__, NodeLostError):
                    raise
                self.cluster.check()
        raise AssertionError("unreachable")

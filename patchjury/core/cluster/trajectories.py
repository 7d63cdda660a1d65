"""Trajectories as Ray tasks: each runs on a node holding one slot, streams its checkpoints back, and is retried
elsewhere (resuming from the last checkpoint that reached the driver) when its node dies.

    cands = run_trajectories_ray(task, spec, run_dir, AgentConfig(n_trajectories=8), models, cluster=cluster)

Same contract and same files as agent.runner.run_trajectories: finished trajectories of `run_dir` are skipped,
unfinished ones resume, one Candidate per trajectory comes back, ordered by index. On the node the task runs
agent.runner.run_trajectories for its one index in a scratch run directory; an Exporter turns every new LangGraph
checkpoint there into a Checkpoint item of the task's stream, which the driver writes into `run_dir`.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.events import Event, EventCallback
from patchjury.agent.trajectory import trajectory_path
from patchjury.core.cluster.checkpoints import Checkpoint, Exporter, Importer
from patchjury.core.cluster.errors import ClusterError
from patchjury.core.cluster.node import NodeEnvSpec, scratch_dir
from patchjury.envs.errors import EnvError
from patchjury.records import Candidate, Task

if TYPE_CHECKING:
    from patchjury.core.cluster.connect import Cluster

log = logging.getLogger(__name__)
POLL_S = 0.25
"""How often a node looks for a new checkpoint while the model or a tool is busy."""


@dataclass
class TrajJob:
    """What a node needs to run trajectory `index` of `task` (pickled into the Ray task)."""

    task: Task
    index: int
    config: AgentConfig
    models: list[ModelConfig]
    spec: NodeEnvSpec
    files: dict[str, str] = field(default_factory=dict)
    """Driver path -> text of the files the configs name (scripts, replays, prompt): nodes share no disk."""


def _shipped_files(config: AgentConfig, models: Sequence[ModelConfig]) -> dict[str, str]:
    paths = [m.script_path for m in models] + [m.replay_path for m in models]
    if Path(config.prompt).suffix:
        paths.append(config.prompt)
    out = {}
    for p in paths:
        if p and Path(p).is_file():
            out[p] = Path(p).read_text()
    return out


def _localize(job: TrajJob, where: Path) -> tuple[AgentConfig, list[ModelConfig]]:
    """Write the shipped files under `where` and point the configs at them."""
    names: dict[str, str] = {}
    for k, (orig, text) in enumerate(job.files.items()):
        path = where / f"{k}-{Path(orig).name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        names[orig] = str(path)
    models = [
        m.model_copy(
            update={
                "script_path": names.get(m.script_path or "", m.script_path),
                "replay_path": names.get(m.replay_path or "", m.replay_path),
            }
        )
        for m in job.models
    ]
    config = job.config.model_copy(update={"prompt": names.get(job.config.prompt, job.config.prompt)})
    return config, models


def trajectory_task(job: TrajJob, seed: Checkpoint | None) -> Iterator[dict[str, Any]]:
    """Body of the Ray task (a streaming generator): node, image, events and checkpoints, then `done`."""
    from patchjury.agent.checkpoint import close_saver, open_saver
    from patchjury.agent.loop import build_trajectory_graph
    from patchjury.agent.runner import run_trajectories
    from patchjury.core.cluster.node import node_identity, prepare
    from patchjury.core.pipeline import EnvClock
    from patchjury.envs.registry import make_env
    from patchjury.envs.sweep import cleanup_all

    scratch = scratch_dir("traj-")
    saver = None
    try:
        yield {"kind": "node", **node_identity()}
        try:
            docker, image = prepare(job.spec)
        except EnvError as exc:
            yield {"kind": "fatal", "error": f"{type(exc).__name__}: {exc}"}
            return
        yield {
            "kind": "image",
            "tag": image.tag,
            "seconds": image.seconds,
            "source": image.source,
            "warning": image.warning,
        }
        config, models = _localize(job, scratch / "files")
        saver = open_saver(scratch)
        graph = build_trajectory_graph(saver)
        iid = job.task.instance_id
        if seed is not None:
            Importer(scratch, iid, graph).apply(seed)
        exporter = Exporter(scratch, iid, job.index, graph)
        exporter.export()  # the seed came from the driver: only what happens from here travels back
        events: queue.Queue[Event | None] = queue.Queue()
        clock = EnvClock()
        failure: list[str] = []

        def work() -> None:
            try:
                run_trajectories(
                    job.task,
                    lambda _i: clock.wrap(make_env(docker)),
                    scratch,
                    config,
                    models,
                    on_event=events.put,
                    progress=False,
                    indices=[job.index],
                )
            except BaseException:  # noqa: BLE001 - reported to the driver with the traceback
                failure.append(traceback.format_exc())
            finally:
                events.put(None)

        thread = threading.Thread(target=work, name=f"trajectory-{job.index}", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    event = events.get(timeout=POLL_S)
                except queue.Empty:
                    event = Event("step", iid)  # nothing to forward; look for a checkpoint
                    event.index = -2
                if event is None:
                    break
                if event.index != -2 and event.kind != "done":
                    yield {"kind": "event", "event": event}
                cp = exporter.export()
                if cp is not None:
                    yield {"kind": "checkpoint", "checkpoint": cp}
            thread.join()
            cp = exporter.export()
            if cp is not None:
                yield {"kind": "checkpoint", "checkpoint": cp}
            yield {"kind": "done", "env_seconds": clock.seconds, "error": failure[0] if failure else None}
        except (KeyboardInterrupt, GeneratorExit):  # ray.cancel: remove this worker's containers now
            cleanup_all()
            raise
    finally:
        if saver is not None:
            close_saver(saver)
        shutil.rmtree(scratch, ignore_errors=True)


_REMOTE: Any = None


def _remote() -> Any:
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(num_cpus=0, max_retries=0)(trajectory_task)
    return _REMOTE


@dataclass
class _Instance:
    """Driver-side state of one instance's trajectories."""

    task: Task
    spec: NodeEnvSpec
    run_dir: Path
    config: AgentConfig
    models: list[ModelConfig]
    files: dict[str, str]
    cluster: Cluster
    importer: Importer
    graph: Any
    on_event: EventCallback | None
    on_info: Callable[[dict[str, Any]], None] | None
    stop: threading.Event | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: set[Any] = field(default_factory=set)
    """The instance's tasks in flight (cancelled when `stop` is set)."""

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)


def _drive(inst: _Instance, index: int) -> bool:
    """Run trajectory `index` to its end on the cluster, resubmitting it when its node dies; False when the stop
    request kept it from starting or cancelled it (it resumes from its last checkpoint on a rerun)."""
    import ray
    from ray.exceptions import RayTaskError, TaskCancelledError

    iid, cluster = inst.task.instance_id, inst.cluster
    lost = 0
    while True:
        if inst.stopping:
            return False
        cluster.check()
        with inst.lock:
            seed = Exporter(inst.run_dir, iid, index, inst.graph).export(force=True)
        job = TrajJob(inst.task, index, inst.config, inst.models, inst.spec, inst.files)
        gen = (
            _remote()
            .options(resources={cluster.config.slot_resource: 1}, name=f"patchjury {iid} t{index:03d}")
            .remote(job, seed)
        )
        done: dict[str, Any] | None = None
        node = ""
        cluster.track(gen)
        with inst.lock:
            inst.running.add(gen)
        try:
            for ref in gen:
                item = ray.get(ref)
                kind = item["kind"]
                if kind == "checkpoint":
                    with inst.lock:
                        inst.importer.apply(item["checkpoint"])
                elif kind == "event":
                    inst.emit(item["event"])
                elif kind == "fatal":
                    raise EnvError(item["error"])
                elif kind == "done":
                    done = item
                elif kind == "node":
                    node = item.get("host", "")
                if kind in ("node", "image", "done") and inst.on_info is not None:
                    inst.on_info(item)
        except TaskCancelledError:
            if inst.stopping:
                return False
            cluster.check()
            raise ClusterError(f"trajectory {iid} t{index:03d} was cancelled") from None
        except RayTaskError as exc:  # a bug inside the task (its own failures are recorded in the trajectory)
            raise ClusterError(f"trajectory {iid} t{index:03d} failed on node {node}: {exc}") from exc
        except ray.exceptions.RayError as exc:  # the node or its worker died: resume elsewhere
            cluster.check()
            lost += 1
            why = str(exc).splitlines()[0][:200]
            log.warning("trajectory %s t%03d lost its node (%s); retry %d", iid, index, why, lost)
            if lost > cluster.config.node_retries:
                raise ClusterError(
                    f"trajectory {iid} t{index:03d} lost its node {lost} times (last: {why}); rerun to resume it "
                    "from its last checkpoint"
                ) from exc
            inst.emit(Event("resume", iid, index, status="running", detail=f"node lost, retry {lost}"))
            continue
        finally:
            cluster.untrack(gen)
            with inst.lock:
                inst.running.discard(gen)
        if done and done.get("error"):
            raise ClusterError(f"trajectory {iid} t{index:03d} failed on node {node}:\n{done['error']}")
        with inst.lock:
            if inst.importer.finished(index):
                return True
        lost += 1  # the stream ended before the final checkpoint arrived
        if lost > cluster.config.node_retries:
            raise ClusterError(f"trajectory {iid} t{index:03d} ended {lost} times without finishing")


def run_trajectories_ray(
    task: Task,
    spec: NodeEnvSpec,
    run_dir: str | Path,
    config: AgentConfig | None = None,
    models: ModelConfig | Sequence[ModelConfig] = (),
    *,
    cluster: Cluster,
    on_event: EventCallback | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    on_info: Callable[[dict[str, Any]], None] | None = None,
    indices: Sequence[int] | None = None,
    stop: threading.Event | None = None,
) -> list[Candidate]:
    """agent.runner.run_trajectories on the cluster. `on_info` receives the nodes' `node`, `image` and `done`
    (env_seconds) items. Raises ClusterError when the cluster cannot finish a trajectory (rerun resumes it) and
    EnvError when a node cannot prepare the environment."""
    import ray

    from patchjury.agent.checkpoint import close_saver, open_saver
    from patchjury.agent.finalize import candidate_from_record
    from patchjury.agent.loop import build_trajectory_graph
    from patchjury.agent.models.registry import model_for
    from patchjury.agent.trajectory import load_trajectory

    cfg = config or AgentConfig()
    model_list = [models] if isinstance(models, ModelConfig) else list(models)
    for k in range(min(len(model_list), cfg.n_trajectories)):
        model_for(k, model_list, cfg)  # fail fast on a bad model config, before anything is submitted
    run_dir = Path(run_dir)
    saver = open_saver(run_dir)
    graph = build_trajectory_graph(saver)
    importer = Importer(run_dir, task.instance_id, graph)
    inst = _Instance(
        task, spec, run_dir, cfg, model_list, _shipped_files(cfg, model_list), cluster, importer, graph,
        on_event, on_info, stop,
    )  # fmt: skip
    todo = list(indices) if indices is not None else list(range(cfg.n_trajectories))
    errors: list[BaseException] = []
    slots = threading.Semaphore(cfg.workers)

    stopped: set[int] = set()

    def one(index: int) -> None:
        with slots:
            if errors:
                return
            try:
                if not _drive(inst, index):
                    stopped.add(index)
                    inst.emit(Event("end", task.instance_id, index, 0, 0.0, "interrupted", "", "stopped"))
                    return
            except BaseException as exc:  # noqa: BLE001 - the first one is raised below, after the others stop
                errors.append(exc)
                return
        cand = candidate_from_record(task.instance_id, trajectory_path(run_dir, task.instance_id, index))
        if on_candidate is not None:
            on_candidate(cand)

    def result(index: int) -> Candidate:
        path = trajectory_path(run_dir, task.instance_id, index)
        if index not in stopped:
            return candidate_from_record(task.instance_id, path)
        if path.exists():  # stopped mid-way: what reached this machine stays, to resume on a rerun
            return candidate_from_record(task.instance_id, path).model_copy(update={"status": "interrupted"})
        return Candidate(
            instance_id=task.instance_id, model_patch="", candidate_id=f"t{index:03d}", status="interrupted"
        )

    try:
        threads = []
        for index in todo:
            if importer.finished(index):
                record = load_trajectory(trajectory_path(run_dir, task.instance_id, index))
                totals = record.totals
                inst.emit(Event("skip", task.instance_id, index, totals.steps, totals.cost, record.status))
                continue
            thread = threading.Thread(
                target=one, args=(index,), name=f"ray-{task.instance_id}-{index}", daemon=True
            )
            thread.start()
            threads.append(thread)
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)  # a short wait keeps Ctrl-C responsive in the main thread
                if inst.stopping:
                    with inst.lock:
                        running = list(inst.running)
                    for gen in running:  # each task removes its containers; the driver keeps the checkpoints
                        ray.cancel(gen)
    finally:
        close_saver(saver)
    if errors:
        raise errors[0]
    candidates = [result(i) for i in todo]
    inst.emit(Event("done", task.instance_id, candidates=candidates, status="done"))
    return candidates

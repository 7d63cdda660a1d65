"""Run N trajectories of one task in parallel and return their candidates.

    from patchjury.agent.runner import run_trajectories
    candidates = run_trajectories(task, env_factory, run_dir, AgentConfig(n_trajectories=4),
                                  [ModelConfig(name="openai/gpt-4o-mini")])

An outer LangGraph graph fans out one `Send` per trajectory (bounded by `workers`) and joins the
results. Each trajectory runs the compiled trajectory graph (agent.loop) as its own checkpointed
thread in the run's single SQLite database: rerunning with the same run_dir skips finished
trajectories and resumes unfinished ones from their last checkpointed step.
"""

from __future__ import annotations

import contextvars
import logging
import operator
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from patchjury.agent.checkpoint import close_saver, open_saver
from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.errors import AgentError, Interrupted, ResumeError
from patchjury.agent.events import Event, EventCallback
from patchjury.agent.finalize import candidate_from_record
from patchjury.agent.history import History
from patchjury.agent.loop import TrajContext, build_trajectory_graph, initial_state
from patchjury.agent.models.registry import model_for
from patchjury.agent.prompting import Prompts, initial_messages, load_prompts
from patchjury.agent.trajectory import Recorder, blob_dir, traj_id_for, trajectory_path
from patchjury.agent.workspace import restore
from patchjury.envs.errors import EnvError
from patchjury.envs.protocol import Env
from patchjury.envs.secrets import install_log_redaction, register_secret_names
from patchjury.records import Candidate, Task
from patchjury.tools.errors import ToolError
from patchjury.tools.protocol import Tool
from patchjury.tools.toolset import Toolset
from patchjury.trajectory_record import load_trajectory

log = logging.getLogger(__name__)
EnvFactory = Callable[[int], Env]


class RunState(TypedDict, total=False):
    indices: list[int]
    results: Annotated[list[dict[str, Any]], operator.add]
    candidates: list[dict[str, Any]]


@dataclass
class RunContext:
    task: Task
    config: AgentConfig
    models: list[ModelConfig]
    env_factory: EnvFactory
    run_dir: Path
    toolset: Toolset
    prompts: Prompts
    graph: Any
    on_event: EventCallback | None
    on_candidate: Callable[[Candidate], None] | None
    stop: threading.Event | None = None
    env_lock: threading.Lock = field(default_factory=threading.Lock)
    env_warm: threading.Event = field(default_factory=threading.Event)

    def make_env(self, index: int) -> Env:
        """The first Env is created alone: backends import lazily, and imports racing in threads can fail
        (e.g. the docker SDK's circular imports). The rest are created concurrently."""
        if not self.env_warm.is_set():
            with self.env_lock:
                if not self.env_warm.is_set():
                    try:
                        return self.env_factory(index)
                    finally:
                        self.env_warm.set()
        return self.env_factory(index)


def _thread(ctx: RunContext, index: int) -> dict[str, Any]:
    return {
        "configurable": {"thread_id": f"{ctx.task.instance_id}/{traj_id_for(index)}"},
        "recursion_limit": 2 * ctx.config.step_limit + 10,
    }


def _emit(ctx: RunContext, event: Event) -> None:
    if ctx.on_event is not None:
        ctx.on_event(event)


def _run_one(ctx: RunContext, index: int) -> Candidate:
    """Start, resume or skip trajectory `index`; always returns a candidate with a recorded status."""
    task, cfg = ctx.task, ctx.config
    path = trajectory_path(ctx.run_dir, task.instance_id, index)
    config = _thread(ctx, index)
    snap = ctx.graph.get_state(config)
    values = snap.values or {}
    if finished(snap, path):
        record = load_trajectory(path)
        totals = record.totals
        _emit(ctx, Event("skip", task.instance_id, index, totals.steps, totals.cost, record.status))
        return candidate_from_record(task.instance_id, path)
    if ctx.stop is not None and ctx.stop.is_set():
        return _not_started(ctx, index, path)
    model = model_for(index, ctx.models, cfg)
    # A checkpoint without a cursor was written by an older patchjury: start afresh (the old record is kept).
    resuming = bool(values and snap.next and path.exists() and "cursor" in values)
    if resuming:
        recorder = Recorder.resume(path, values["cursor"], values.get("pending"))
    else:
        recorder = Recorder.new(
            path,
            instance_id=task.instance_id,
            traj_id=traj_id_for(index),
            index=index,
            model=model.name,
            temperature=cfg.temperature_for(index),
            seed=cfg.seed_for(index),
            config=cfg.model_dump(mode="json"),
        )
    env: Env | None = None
    try:
        env = ctx.make_env(index)
        tctx = TrajContext(
            task.instance_id,
            index,
            cfg,
            model,
            env,
            ctx.toolset,
            ctx.prompts,
            recorder,
            History(model, cfg.history, ctx.prompts.render("summarize")),
            blob_dir(ctx.run_dir, task.instance_id, index),
            ctx.on_event,
            stop=ctx.stop,
        )
        if resuming:
            restore(env, ctx.toolset, values.get("workspace", ""), f"{index}")
            totals = recorder.totals
            _emit(
                ctx,
                Event("resume", task.instance_id, index, totals.steps, totals.cost, "running", model.name),
            )
            graph_input: Any = None
        else:
            ctx.toolset.start(env, task)  # e.g. repo_map without arguments centres on the issue
            recorder.start(
                initial_messages(ctx.prompts, task, ctx.toolset.schemas, env.workdir, cfg.show_hints)
            )
            _emit(ctx, Event("start", task.instance_id, index, 0, 0.0, "running", model.name))
            graph_input = initial_state(index, recorder.cursor())
        # A fresh context: the trajectory graph must not see the outer graph's run config.
        contextvars.Context().run(ctx.graph.invoke, graph_input, config, context=tctx, durability="sync")
    except Interrupted as exc:  # not finished: the record says so, the checkpoint stays the resume point
        recorder.record.status = "interrupted"
        recorder.save()
        totals = recorder.totals
        _emit(
            ctx, Event("end", task.instance_id, index, totals.steps, totals.cost, "interrupted", "", str(exc))
        )
    except (EnvError, ResumeError) as exc:
        _fail(ctx, recorder, index, "env_error", f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one broken trajectory must not stop its siblings; recorded below
        log.error("trajectory %s/%d crashed: %s", task.instance_id, index, exc)
        _fail(ctx, recorder, index, "error", traceback.format_exc())
    finally:
        if env is not None:
            try:
                ctx.toolset.end(env)  # the tools' end hooks; their state lives beside a local checkout
            except (EnvError, ToolError) as exc:
                log.warning("could not tidy the tools' state of trajectory %d: %s", index, exc)
            env.close()
    return candidate_from_record(task.instance_id, path)


def finished(snap: Any, path: Path) -> bool:
    """Whether the trajectory whose checkpoint state is `snap` and record `path` is finished, so a rerun skips it
    (this runner, and the Ray driver deciding what to submit)."""
    return bool(snap.values) and path.exists() and (not snap.next or _finish_recorded(snap, path))


def _finish_recorded(snap: Any, path: Path) -> bool:
    """Killed after the `finish` node wrote the record and before its checkpoint: the record holds the outcome
    the node was finishing (same status), so it is finished; rerunning the node would only redo the same."""
    status = (snap.values or {}).get("status", "running")
    if tuple(snap.next) != ("finish",) or status in ("running", "interrupted"):
        return False
    return load_trajectory(path).status == status


def _not_started(ctx: RunContext, index: int, path: Path) -> Candidate:
    """A trajectory the stop request kept from starting (or resuming): status `interrupted`, no patch."""
    _emit(ctx, Event("end", ctx.task.instance_id, index, 0, 0.0, "interrupted", "", "not started"))
    if path.exists():
        return candidate_from_record(ctx.task.instance_id, path).model_copy(update={"status": "interrupted"})
    return Candidate(
        instance_id=ctx.task.instance_id,
        model_patch="",
        candidate_id=traj_id_for(index),
        status="interrupted",
    )


def _fail(ctx: RunContext, recorder: Recorder, index: int, status: str, error: str) -> None:
    recorder.finish(status, "", [], None, error)
    totals = recorder.totals
    _emit(ctx, Event("end", ctx.task.instance_id, index, totals.steps, totals.cost, status, "", error))


def _trajectory_node(payload: dict[str, Any], runtime: Runtime[RunContext]) -> dict[str, Any]:
    candidate = _run_one(runtime.context, payload["index"])
    if runtime.context.on_candidate is not None:
        runtime.context.on_candidate(candidate)
    return {"results": [{"index": payload["index"], "candidate": candidate.model_dump()}]}


def _join(state: RunState) -> dict[str, Any]:
    ordered = sorted(state.get("results", []), key=lambda r: r["index"])
    return {"candidates": [r["candidate"] for r in ordered]}


def _fan_out(state: RunState) -> list[Send] | str:
    return [Send("trajectory", {"index": i}) for i in state["indices"]] or "join"


def build_run_graph() -> Any:
    graph = StateGraph(RunState, context_schema=RunContext)
    graph.add_node("trajectory", _trajectory_node)  # type: ignore[call-overload]
    graph.add_node("join", _join)
    graph.add_conditional_edges(START, _fan_out, ["trajectory", "join"])
    graph.add_edge("trajectory", "join")
    graph.add_edge("join", END)
    return graph.compile()


def run_trajectories(
    task: Task,
    env_factory: EnvFactory,
    run_dir: str | Path,
    config: AgentConfig | None = None,
    models: ModelConfig | Sequence[ModelConfig] = (),
    *,
    tools: list[Tool] | None = None,
    on_event: EventCallback | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    progress: bool | None = None,
    indices: Sequence[int] | None = None,
    stop: threading.Event | None = None,
) -> list[Candidate]:
    """Run `config.n_trajectories` trajectories of `task` (at most `config.workers` at once).

    `env_factory(i)` makes trajectory i's Env (closed when the trajectory ends). Models are used
    round robin across trajectories. Returns one Candidate per trajectory, ordered by index, whatever
    its status. `progress=None` shows a rich live table only on an interactive terminal.

    `stop`: once set, queued trajectories do not start and running ones stop before their next model query
    (status `interrupted`; their last checkpoint is where a rerun with the same run_dir resumes them).
    API key variables of the models (`api_key_env`) join the secrets redacted from records and logs.
    """
    cfg = config or AgentConfig()
    model_list = [models] if isinstance(models, ModelConfig) else list(models)
    register_secret_names(m.api_key_env for m in model_list)
    install_log_redaction()
    for k in range(min(len(model_list), cfg.n_trajectories)):
        model_for(k, model_list, cfg)  # fail fast on a bad model config (missing key, unreadable script)
    toolset = Toolset(tools, cfg.tools) if tools is not None else Toolset.from_config(cfg.tools)
    run_dir = Path(run_dir)
    saver = open_saver(run_dir)
    display = None
    if progress or (progress is None and _interactive()):
        from patchjury.agent.progress import LiveProgress

        display = LiveProgress(task.instance_id, cfg.n_trajectories, forward=on_event)
        on_event = display.on_event
    ctx = RunContext(
        task,
        cfg,
        model_list,
        env_factory,
        run_dir,
        toolset,
        load_prompts(cfg.prompt),
        build_trajectory_graph(saver),
        on_event,
        on_candidate,
        stop,
    )
    todo = list(indices) if indices is not None else list(range(cfg.n_trajectories))
    try:
        if display is not None:
            display.start()
        out = build_run_graph().invoke(
            {"indices": todo, "results": []},
            {"max_concurrency": cfg.workers, "recursion_limit": 25},
            context=ctx,
        )
    finally:
        if display is not None:
            display.stop()
        close_saver(saver)
    candidates = [Candidate.model_validate(c) for c in out["candidates"]]
    _emit(ctx, Event("done", task.instance_id, candidates=candidates, status="done"))
    return candidates


def _interactive() -> bool:
    import sys

    return sys.stderr.isatty()


__all__ = ["AgentError", "EnvFactory", "run_trajectories"]

"""The core of every front door: one task -> N trajectories -> the jury -> files in a run directory.

    plan = plan_local_repo(settings.env, repo, commit)        # or plan_swebench_instance (patchjury.envs.plan)
    result = run_task(task, plan, settings, run_dir)

Trajectories and the jury's test runs each get their own Env from `plan.new_env`; a clock measures Env-minutes
(container-minutes with Docker). `solve.py` (local repositories), `demo` and `swebench run` build on this.
A `Backend` says where trajectories and the jury's containers run: this machine (`LocalBackend`, the default) or
a Ray cluster (patchjury.core.cluster, with `--ray`); the files written are the same.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from patchjury.core.settings import Settings
from patchjury.envs.plan import EnvPlan
from patchjury.envs.protocol import Env
from patchjury.records import Candidate, Task

if TYPE_CHECKING:
    from patchjury.agent.config import AgentConfig, ModelConfig
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.static_check import StaticChecker


class EnvClock:
    """Wraps Envs to sum the seconds each one was alive (thread-safe)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._lock = threading.Lock()

    def wrap(self, env: Env) -> Env:
        with self._lock:
            self.count += 1
        return _TimedEnv(env, self)

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds


class _TimedEnv:
    """Delegates everything to the wrapped Env; records its lifetime on close."""

    def __init__(self, inner: Env, clock: EnvClock) -> None:
        self._inner = inner
        self._clock = clock
        self._start = time.monotonic()
        self._closed = False
        self.workdir = inner.workdir

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def execute(self, command: str, timeout: float | None = None, cwd: str | None = None) -> Any:
        return self._inner.execute(command, timeout=timeout, cwd=cwd)

    def read_file(self, path: str) -> str:
        return self._inner.read_file(path)

    def write_file(self, path: str, content: str) -> None:
        self._inner.write_file(path, content)

    def diff(self, exclude: Sequence[str] = ()) -> str:
        return self._inner.diff(exclude)

    def reset(self) -> None:
        self._inner.reset()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._clock.add(time.monotonic() - self._start)
        self._inner.close()


@dataclass
class TaskResult:
    """Everything one task produced (files are already written under `run_dir`)."""

    task: Task
    run_dir: Path
    plan: EnvPlan
    """Where its Envs ran."""
    candidates: list[Candidate]
    run: Any
    """selection.pipeline.InstanceRun (decision, signals, pass matrix, regression report); None when the run was
    interrupted before any trajectory finished with a patch (no jury)."""
    explanation_md: str
    chart: Path | None
    env_seconds: float
    duration: float
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    """A stop request ended the trajectories early; the jury (if any) judged only those that had finished."""
    adaptive: dict[str, Any] | None = None
    """With adaptive sampling: the waves, the budget, what was used and saved, and why it stopped."""

    @property
    def finished(self) -> list[Candidate]:
        return [c for c in self.candidates if c.status != "interrupted"]

    @property
    def decision(self) -> Any:
        return self.run.decision

    @property
    def cost(self) -> float:
        return sum(c.cost for c in self.candidates)


class Backend(Protocol):
    """Where a task's trajectories and its jury's containers run."""

    info: dict[str, Any]
    """What a front door should record about where it ran (e.g. image and nodes of a cluster run)."""

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
        """agent.runner.run_trajectories' contract: the same files in `run_dir`, one Candidate per trajectory
        (`indices`: only these trajectories; default all `config.n_trajectories`; `stop` set: queued ones do not
        start, running ones stop at their next step with status `interrupted`)."""
        ...

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
        """selection.pipeline.run_instance's InstanceRun."""
        ...


@dataclass
class LocalBackend:
    """Trajectories and the jury's containers on this machine, in Envs from `plan`."""

    plan: EnvPlan
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
        from patchjury.agent.runner import run_trajectories

        new_env = self.plan.new_env
        return run_trajectories(
            task,
            lambda _i: clock.wrap(new_env()),
            run_dir,
            config,
            models,
            progress=progress,
            on_event=on_event,
            indices=indices,
            stop=stop,
        )

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
        from patchjury.selection.pipeline import run_instance

        new_env = self.plan.new_env
        return run_instance(
            task,
            candidates,
            config,
            env_factory=lambda: clock.wrap(new_env()),
            static=static,
            progress=progress,
        )


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def run_task(
    task: Task,
    plan: EnvPlan,
    settings: Settings,
    run_dir: Path,
    *,
    progress: bool | None = None,
    on_event: Callable[[Any], None] | None = None,
    static: StaticChecker | None = None,
    stop: threading.Event | None = None,
    on_jury: Callable[[], None] | None = None,
    backend: Backend | None = None,
) -> TaskResult:
    """Trajectories (resumable: reruns skip finished ones), then the jury; writes candidates, decision, explanation.
    `static`: the repository source for the jury's static checks (None: not run). `stop` (set: queued
    trajectories do not start, running ones stop at their next step; the jury then judges only the finished ones,
    or is skipped when none has a patch). `on_jury` is called when the jury starts. `backend`: where trajectories
    and the jury run (default: this machine, in Envs from `plan`)."""
    from patchjury.selection.explain import render_chart, render_markdown

    start = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)
    clock = EnvClock()
    runner = backend or LocalBackend(plan)
    agent_cfg = settings.agent.model_copy(update={"cost_limit": settings.trajectory_cost_limit()})
    models = settings.model_list()

    def run_wave(indices: Sequence[int] | None = None) -> list[Candidate]:
        return runner.trajectories(
            task,
            run_dir,
            agent_cfg,
            models,
            progress=progress,
            on_event=on_event,
            clock=clock,
            indices=indices,
            stop=stop,
        )

    notes: list[str] = []
    adaptive = None
    if settings.adaptive.enabled:
        adaptive = sample_adaptively(task, settings, run_dir, run_wave, static, stop)
        candidates = adaptive.candidates
        notes.append(f"Adaptive sampling: {adaptive.summary()}")
    else:
        candidates = run_wave()
    _write_jsonl(run_dir / "candidates.jsonl", [c.model_dump(mode="json") for c in candidates])
    interrupted = stop is not None and stop.is_set()
    judged = [c for c in candidates if c.status != "interrupted"]
    if interrupted and not any(c.model_patch.strip() for c in judged):
        why = "no trajectory had finished with a patch when the run was interrupted: no jury"
        return TaskResult(
            task,
            run_dir,
            plan,
            candidates,
            None,
            "",
            None,
            clock.seconds,
            time.monotonic() - start,
            [*notes, why],
            True,
            adaptive.to_json() if adaptive is not None else None,
        )
    if on_jury is not None:
        on_jury()
    run = runner.jury(
        task,
        judged,
        settings.selection,
        static=static,
        progress=sys.stderr.isatty() if progress is None else progress,
        clock=clock,
    )
    (run_dir / "decision.json").write_text(run.decision.model_dump_json(indent=2) + "\n")
    if run.matrix is not None:
        (run_dir / "pass_matrix.json").write_text(json.dumps(run.matrix.to_json(), indent=1) + "\n")
    explanation = render_markdown(run.decision, run.matrix, run.regression, run.behaviour)
    (run_dir / "explanation.md").write_text(explanation)
    chart: Path | None = run_dir / "jury.png"
    notes += list(run.notes or [])
    why_not = render_chart(run.decision, chart) if chart is not None else None
    if why_not:
        notes.append(why_not)
        chart = None
    return TaskResult(
        task,
        run_dir,
        plan,
        candidates,
        run,
        explanation,
        chart,
        clock.seconds,
        time.monotonic() - start,
        notes,
        interrupted,
        adaptive.to_json() if adaptive is not None else None,
    )


def sample_adaptively(
    task: Task,
    settings: Settings,
    run_dir: Path,
    run_wave: Callable[[Sequence[int]], list[Candidate]],
    static: StaticChecker | None,
    stop: threading.Event | None = None,
) -> Any:
    """agent.adaptive waves judged by the jury (core.adaptive); `adaptive.json` in `run_dir` after every wave."""
    from patchjury.agent.adaptive import run_adaptive
    from patchjury.core.adaptive import JuryJudge

    judge = JuryJudge(task, settings.selection, settings.adaptive, static)

    def save(result: Any) -> None:
        (run_dir / "adaptive.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")

    return run_adaptive(
        run_wave, settings.agent.n_trajectories, settings.adaptive, judge, on_wave=save, stop=stop
    )

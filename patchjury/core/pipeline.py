"""The core of every front door: one task -> N trajectories -> the jury -> files in a run directory.

    plan = plan_local_repo(settings.env, repo, commit)        # or plan_swebench_instance (patchjury.envs.plan)
    result = run_task(task, plan, settings, run_dir)

Trajectories and the jury's test runs each get their own Env from `plan.new_env`; a clock measures Env-minutes
(container-minutes with Docker). `solve.py` (local repositories), `demo` and `swebench run` build on this.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchjury.core.settings import Settings
from patchjury.envs.plan import EnvPlan
from patchjury.envs.protocol import Env
from patchjury.records import Candidate, Task

if TYPE_CHECKING:
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

    @property
    def finished(self) -> list[Candidate]:
        return [c for c in self.candidates if c.status != "interrupted"]

    @property
    def decision(self) -> Any:
        return self.run.decision

    @property
    def cost(self) -> float:
        return sum(c.cost for c in self.candidates)


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
) -> TaskResult:
    """Trajectories (resumable: reruns skip finished ones), then the jury; writes candidates, decision, explanation.
    `static`: the repository source for the jury's static checks (None: not run). `stop` (set: queued
    trajectories do not start, running ones stop at their next step; the jury then judges only the finished ones,
    or is skipped when none has a patch). `on_jury` is called when the jury starts."""
    from patchjury.agent.runner import run_trajectories
    from patchjury.selection.explain import render_chart, render_markdown
    from patchjury.selection.pipeline import run_instance

    start = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)
    clock = EnvClock()
    agent_cfg = settings.agent.model_copy(update={"cost_limit": settings.trajectory_cost_limit()})
    candidates = run_trajectories(
        task,
        lambda _i: clock.wrap(plan.new_env()),
        run_dir,
        agent_cfg,
        settings.model_list(),
        progress=progress,
        on_event=on_event,
        stop=stop,
    )
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
            [why],
            True,
        )
    if on_jury is not None:
        on_jury()
    run = run_instance(
        task,
        judged,
        settings.selection,
        env_factory=lambda: clock.wrap(plan.new_env()),
        static=static,
        progress=sys.stderr.isatty() if progress is None else progress,
    )
    (run_dir / "decision.json").write_text(run.decision.model_dump_json(indent=2) + "\n")
    if run.matrix is not None:
        (run_dir / "pass_matrix.json").write_text(json.dumps(run.matrix.to_json(), indent=1) + "\n")
    explanation = render_markdown(run.decision, run.matrix, run.regression, run.behaviour)
    (run_dir / "explanation.md").write_text(explanation)
    chart: Path | None = run_dir / "jury.png"
    notes = list(run.notes or [])
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
    )

"""`patchjury select` wiring: the environment each task's tests run in, the static checker and the explanation
writer around selection.pipeline.select_many (the jury itself).

Environments for execution (the pass matrix and regression tests), per task, planned by patchjury.envs.plan:
- `--repo PATH`: a checkout of PATH at the task's base commit (local, or a container with `--env docker`);
- otherwise: the SWE-bench instance image (built from its recipe, or the official one), with the recipe's
  regression command; an instance without an environment is selected without execution (with a warning);
- `--no-exec`: no environment (no plans are made), execution-free signals only.
Static checks (pyflakes on the touched files before and after each patch) read the repository from `--repo` or the
repo cache, with or without execution; without either they are skipped.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from patchjury.envs.errors import EnvError
from patchjury.envs.plan import EnvPlan, EnvSettings, InstancePlan, plan_local_repo, plan_swebench_instance

if TYPE_CHECKING:
    from patchjury.envs.protocol import EnvFactory
    from patchjury.envs.swebench.instances import SWEInstance
    from patchjury.envs.swebench.source import InstanceSource
    from patchjury.records import Task
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.pipeline import InstanceRun
    from patchjury.selection.static_check import StaticChecker

LABELS = {"dev.patchjury.front": "select"}


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class TaskPlans:
    """Per task: the EnvPlan its tests run in (None: selected without execution) and its selection config."""

    def __init__(
        self, config: SelectionConfig, env: EnvSettings, repo: Path | None, source: InstanceSource
    ) -> None:
        self.config, self.env, self.repo, self.source = config, env, repo, source
        self._rows: dict[str, SWEInstance] = {}
        if repo is None:
            from patchjury.envs.swebench.instances import load_instances

            self._rows = {inst.instance_id: inst for inst in load_instances(source.instances)}
        self._plans: dict[str, EnvPlan | None] = {}
        self._warned: set[str] = set()

    def plan(self, task: Task) -> EnvPlan | None:
        """Plan the task's environment (once per task)."""
        if task.instance_id not in self._plans:
            self._plans[task.instance_id] = self._make(task)
        return self._plans[task.instance_id]

    def _make(self, task: Task) -> EnvPlan | None:
        if self.repo is not None:
            plan: EnvPlan = plan_local_repo(self.env, self.repo, task.base_commit or "HEAD", LABELS)
        else:
            inst = self._rows.get(task.instance_id)
            if inst is None:
                _warn(f"{task.instance_id}: not a SWE-bench row; selecting without execution")
                return None
            try:
                plan = plan_swebench_instance(inst, self.env, self.source, LABELS)
            except EnvError as exc:
                _warn(
                    f"{task.instance_id}: no environment ({exc}); selecting without execution "
                    "(fix the image, or pass --repo)"
                )
                return None
        for note in plan.warnings:
            if note not in self._warned:
                self._warned.add(note)
                _warn(note)
        return plan

    def factory_for(self, task: Task) -> EnvFactory | None:
        """selection.pipeline's `env_factory_for`."""
        plan = self.plan(task)
        return plan.new_env if plan is not None else None

    def config_for(self, task: Task) -> SelectionConfig:
        """selection.pipeline's `config_for`: an instance image built from a recipe brings its regression command."""
        from patchjury.selection.config import recipe_regression

        plan = self._plans.get(task.instance_id)
        if isinstance(plan, InstancePlan):
            return recipe_regression(self.config, self._rows[task.instance_id], plan.image)
        return self.config


def static_checker(repo: Path | None, repo_cache: Path | None) -> StaticChecker | None:
    """Static checks read the repository at each task's base commit: `--repo`, else the repo cache (--repo-cache
    or $PATCHJURY_REPO_CACHE); None when neither is given."""
    from patchjury.envs.swebench.repos import cache_dir_from
    from patchjury.selection.static_check import StaticChecker, cache_source, repo_source

    if repo is not None:
        return StaticChecker(repo_source(repo))
    cache = cache_dir_from(repo_cache)
    return StaticChecker(cache_source(cache)) if cache is not None else None


def _safe_name(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", instance_id)[:150] or "instance"


def explanation_writer(explain_dir: Path, charts: bool, notes: list[str]) -> Callable[[InstanceRun], None]:
    """Writes each decided instance's explanation (markdown, pass matrix, chart) into `explain_dir`."""
    from patchjury.selection.explain import render_chart, render_markdown

    def on_done(run: InstanceRun) -> None:
        d = run.decision
        name = _safe_name(d.instance_id)
        explain_dir.mkdir(parents=True, exist_ok=True)
        (explain_dir / f"{name}.md").write_text(render_markdown(d, run.matrix, run.regression, run.behaviour))
        if run.matrix is not None:
            data = {
                "matrix": run.matrix.to_json(),
                "regression": asdict(run.regression) if run.regression else None,
            }
            (explain_dir / f"{name}.matrix.json").write_text(json.dumps(data, indent=1))
        if charts:
            note = render_chart(d, explain_dir / f"{name}.png")
            if note and note not in notes:
                notes.append(note)

    return on_done

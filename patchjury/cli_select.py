"""`patchjury select`: pick one patch per instance from a pool of candidates; write swebench predictions.

Environments for execution (the pass matrix and regression tests), per instance:
- `--repo PATH`: a checkout of PATH at the instance's base commit (LocalEnv, or a container from `--image`
  with `--env docker`), for every instance;
- otherwise, with exec on: the SWE-bench instance image built from the instance row (envs.swebench.build,
  repositories from `--repo-cache` or cloned), one container per worker;
- `--no-exec`: no environment, execution-free signals only (clusters and the trained verifier).
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

import typer

if TYPE_CHECKING:
    from patchjury.envs.protocol import Env
    from patchjury.records import Task
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.execution import EnvFactory
    from patchjury.selection.pipeline import InstanceRun
    from patchjury.selection.static_check import StaticChecker


def _safe_name(instance_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", instance_id)[:150] or "instance"


def _local_factory(kind: str, repo: Path, image: str | None) -> Callable[[Task], EnvFactory]:
    from patchjury.envs.config import DockerEnvConfig, LocalEnvConfig
    from patchjury.envs.registry import make_env

    def for_task(task: Task) -> EnvFactory:
        commit = task.base_commit or "HEAD"
        if kind == "docker":
            from patchjury.envs.bootstrap import bootstrap

            tag = image or bootstrap("bookworm")
            cfg: LocalEnvConfig | DockerEnvConfig = DockerEnvConfig(
                image=tag, source_repo=repo, commit=commit
            )
        else:
            cfg = LocalEnvConfig(repo=repo, commit=commit)

        def make() -> Env:
            return make_env(cfg)

        return make

    return for_task


def _static_checker(repo: Path | None, repo_cache: Path | None) -> StaticChecker | None:
    """Static checks read the repository at each task's base commit: `--repo`, else the repo cache (--repo-cache
    or $PATCHJURY_REPO_CACHE); None when neither is given."""
    from patchjury.envs.swebench.repos import cache_dir_from
    from patchjury.selection.static_check import StaticChecker, cache_source, repo_source

    if repo is not None:
        return StaticChecker(repo_source(repo))
    cache = cache_dir_from(repo_cache)
    return StaticChecker(cache_source(cache)) if cache is not None else None


def _swebench_factory(
    instances_path: Path, repo_cache: Path | None, official: bool, cfg: SelectionConfig
) -> tuple[Callable[[Task], EnvFactory | None], Callable[[Task], SelectionConfig]]:
    """Per task: an env factory on the instance's image, and the config with its recipe's regression command."""
    from patchjury.envs.errors import EnvError
    from patchjury.envs.registry import make_env
    from patchjury.envs.swebench.build import prepare_instance_image
    from patchjury.envs.swebench.instances import load_instances
    from patchjury.selection.config import recipe_regression

    rows = {inst.instance_id: inst for inst in load_instances(instances_path)}
    configs: dict[str, SelectionConfig] = {}

    def for_task(task: Task) -> EnvFactory | None:
        inst = rows.get(task.instance_id)
        if inst is None:
            print(
                f"warning: {task.instance_id}: not a SWE-bench row; selecting without execution",
                file=sys.stderr,
            )
            return None
        try:
            image = prepare_instance_image(inst, use_official_image=official, repo_cache=repo_cache)
        except EnvError as exc:
            print(
                f"warning: {task.instance_id}: no environment ({exc}); selecting without execution "
                "(fix the image, or pass --repo)",
                file=sys.stderr,
            )
            return None
        configs[task.instance_id] = recipe_regression(cfg, inst, image)
        env_cfg = image.docker_config()

        def make() -> Env:
            return make_env(env_cfg)

        return make

    return for_task, lambda task: configs.get(task.instance_id, cfg)


def _writer(explain_dir: Path, charts: bool, notes: list[str]) -> Callable[[InstanceRun], None]:
    from patchjury.selection.explain import render_chart, render_markdown

    def on_done(run: InstanceRun) -> None:
        d = run.decision
        name = _safe_name(d.instance_id)
        explain_dir.mkdir(parents=True, exist_ok=True)
        (explain_dir / f"{name}.md").write_text(render_markdown(d, run.matrix, run.regression))
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


def select_cmd(
    candidates: Path = typer.Option(
        ..., "--candidates", help="Candidates JSONL(.gz): ours or swebench predictions."
    ),
    instances: Path = typer.Option(..., "--instances", help="Instances JSONL(.gz)/JSON (SWE-bench rows)."),
    out: Path = typer.Option(..., "--out", help="Predictions JSONL to write (swebench format plus scores)."),
    no_exec: bool = typer.Option(False, "--no-exec", help="Execution-free: no environment, no tests run."),
    selector: str | None = typer.Option(
        None,
        "--selector",
        help="staged | r2e_hybrid | learned | verifier | votes | majority (default: config).",
    ),
    scores: str | None = typer.Option(None, "--scores", help="Execution score: votes | codet | b4."),
    repo: Path | None = typer.Option(
        None, "--repo", help="Run tests in a checkout of this git repo (all instances)."
    ),
    env_kind: str = typer.Option(
        "local", "--env", help="With --repo: local (checkout here) or docker (container)."
    ),
    image: str | None = typer.Option(
        None, "--image", help="With --env docker: image tag (default: bookworm base)."
    ),
    repo_cache: Path | None = typer.Option(
        None,
        "--repo-cache",
        help="Directory of clones named owner__name: SWE-bench instance images, and static checks (also with "
        "--no-exec).",
    ),
    official_images: bool = typer.Option(False, "--official-images", help="Pull official SWE-bench images."),
    workers: int | None = typer.Option(
        None, "--workers", help="Parallel test workers (one environment each)."
    ),
    explain_dir: Path | None = typer.Option(
        None, "--explain-dir", help="Explanations (default: <out>.explain/)."
    ),
    charts: bool = typer.Option(
        False, "--charts", help="Also draw a PNG chart per instance (needs matplotlib)."
    ),
    config: list[str] = typer.Option([], "-c", "--config", help="YAML file or KEY.PATH=VALUE; repeatable."),
    instance_ids: list[str] = typer.Option([], "--instance-id", help="Only these instances (repeatable)."),
    filter_re: str | None = typer.Option(
        None, "--filter", help="Only instances whose id matches this regex."
    ),
    resume: bool = typer.Option(False, "--resume", help="Keep instances already in --out; decide the rest."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Pick one patch per instance from a candidate pool (execution voting + verifier) and write predictions."""
    from patchjury.config import build_config
    from patchjury.errors import UsageError
    from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.pipeline import select_many
    from patchjury.selection.scores import SCORES
    from patchjury.selection.selectors import RULES

    cfg: SelectionConfig = build_config(SelectionConfig, config)
    overrides: dict[str, object] = {}
    if selector is not None:
        if selector not in RULES:
            raise UsageError(f"unknown --selector {selector!r}; choose one of {', '.join(RULES)}")
        overrides["selector"] = selector
    if scores is not None:
        if scores not in SCORES:
            raise UsageError(f"unknown --scores {scores!r}; choose one of {', '.join(SCORES)}")
        overrides["scores"] = scores
    if charts:
        overrides["charts"] = True
    execution = cfg.execution.model_copy(update={"enabled": cfg.execution.enabled and not no_exec})
    if workers is not None:
        if workers < 1:
            raise UsageError(f"--workers must be >= 1, got {workers}")
        execution = execution.model_copy(update={"workers": workers})
    cfg = cfg.model_copy(update={**overrides, "execution": execution})
    if env_kind not in ("local", "docker"):
        raise UsageError(f"unknown --env {env_kind!r}; choose local or docker")
    for label, path in (("--candidates", candidates), ("--instances", instances)):
        if not path.is_file():
            raise UsageError(f"{label} {path} does not exist; pass an existing file")
    if repo is not None and not repo.is_dir():
        raise UsageError(f"--repo {repo} is not a directory; pass the root of a git checkout")

    pools = group_by_instance(load_candidates(candidates))
    if instance_ids:
        unknown = sorted(set(instance_ids) - set(pools))
        if unknown:
            raise UsageError(f"--instance-id {', '.join(unknown)}: no candidates for it in {candidates}")
        pools = {iid: c for iid, c in pools.items() if iid in instance_ids}
    if filter_re is not None:
        try:
            pattern = re.compile(filter_re)
        except re.error as exc:
            raise UsageError(f"--filter {filter_re!r} is not a valid regular expression: {exc}") from exc
        pools = {iid: c for iid, c in pools.items() if pattern.search(iid)}
    if not pools:
        raise UsageError("no instance left to select (check --instance-id / --filter)")
    tasks = load_tasks(instances)
    factory_for: Callable[[Task], EnvFactory | None] | None = None
    config_for: Callable[[Task], SelectionConfig] | None = None
    if cfg.execution.enabled:
        if repo is not None:
            factory_for = _local_factory(env_kind, repo, image)
        else:
            factory_for, config_for = _swebench_factory(instances, repo_cache, official_images, cfg)
    static = _static_checker(repo, repo_cache)
    explain = explain_dir or Path(cfg.explain_dir or out.with_suffix(".explain"))
    notes: list[str] = []
    decisions = select_many(
        tasks,
        pools,
        cfg,
        out,
        env_factory_for=factory_for,
        config_for=config_for,
        static=static,
        on_done=_writer(explain, cfg.charts, notes),
        progress=not quiet,
        resume=resume,
    )
    chosen = sum(1 for d in decisions if d.winner)
    typer.echo(
        f"{len(decisions)} instance(s), {chosen} with a chosen patch ({cfg.selector}"
        f"{', no exec' if not cfg.execution.enabled else ''}) -> {out}; explanations in {explain}/"
    )
    for note in notes:
        typer.echo(note)

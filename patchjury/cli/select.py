"""`patchjury select`: pick one patch per instance from a pool of candidates; write swebench predictions.

Where each instance's tests run is planned by patchjury.core.select (see there)."""

from __future__ import annotations

import re
from pathlib import Path

import typer


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
    from patchjury.core.config import build_config
    from patchjury.core.errors import UsageError
    from patchjury.core.select import TaskPlans, explanation_writer, static_checker
    from patchjury.envs.plan import EnvSettings
    from patchjury.envs.swebench.source import InstanceSource
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
    plans = None
    if cfg.execution.enabled:
        source = InstanceSource(
            instances=str(instances), repo_cache=repo_cache, use_official_image=official_images
        )
        plans = TaskPlans(cfg, EnvSettings.model_validate({"type": env_kind, "image": image}), repo, source)
    static = static_checker(repo, repo_cache)
    explain = explain_dir or Path(cfg.explain_dir or out.with_suffix(".explain"))
    notes: list[str] = []
    decisions = select_many(
        tasks,
        pools,
        cfg,
        out,
        env_factory_for=plans.factory_for if plans else None,
        config_for=plans.config_for if plans else None,
        static=static,
        on_done=explanation_writer(explain, cfg.charts, notes),
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

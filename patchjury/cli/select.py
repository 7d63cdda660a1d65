"""`patchjury select`: pick one patch per instance from a pool of candidates; write swebench predictions.

Where each instance's tests run is planned by patchjury.core.select (see there)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patchjury.cli import options as o

JURY = "Jury"


def select_cmd(
    candidates: Annotated[
        Path,
        typer.Option(
            "--candidates",
            help="Candidates JSONL(.gz) (ours or swebench predictions), or SWE-agent .traj / mini-swe-agent "
            ".traj.json files (one, or a folder of them).",
            rich_help_panel=o.DATA,
        ),
    ],
    instances: Annotated[
        Path,
        typer.Option(
            "--instances", "-i", help="Instances JSONL(.gz)/JSON (SWE-bench rows).", rich_help_panel=o.DATA
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Predictions JSONL to write (swebench format plus scores).",
            rich_help_panel=o.OUTPUT,
        ),
    ],
    instance_ids: o.InstanceIds = None,
    slice_: o.Slice = None,
    filter_: o.Filter = None,
    selector: Annotated[
        str | None,
        typer.Option(
            "--selector",
            help="The rule: staged | r2e_hybrid | learned | verifier | votes | majority (default: config).",
            rich_help_panel=JURY,
        ),
    ] = None,
    scores: Annotated[
        str | None,
        typer.Option("--scores", help="Execution score: votes | codet | b4.", rich_help_panel=JURY),
    ] = None,
    no_exec: Annotated[
        bool,
        typer.Option("--no-exec", help="Execution-free: no environment, no tests run.", rich_help_panel=JURY),
    ] = False,
    test_workers: o.TestWorkers = None,
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo", help="Run tests in a checkout of this git repo (all instances).", rich_help_panel=o.ENV
        ),
    ] = None,
    env_kind: Annotated[
        str,
        typer.Option(
            "--env", help="With --repo: local (checkout here) or docker (container).", rich_help_panel=o.ENV
        ),
    ] = "local",
    image: Annotated[
        str | None,
        typer.Option(
            "--image", help="With --env docker: image tag (default: bookworm base).", rich_help_panel=o.ENV
        ),
    ] = None,
    repo_cache: o.RepoCache = None,
    no_clone: o.NoClone = False,
    recipes: o.Recipes = None,
    use_official_image: o.UseOfficialImage = False,
    memory: o.Memory = None,
    cpus: o.Cpus = None,
    explain_dir: Annotated[
        Path | None,
        typer.Option(
            "--explain-dir", help="Explanations (default: <out>.explain/).", rich_help_panel=o.OUTPUT
        ),
    ] = None,
    charts: Annotated[
        bool,
        typer.Option("--charts", help="Also draw a PNG chart per instance.", rich_help_panel=o.OUTPUT),
    ] = False,
    redo_existing: o.RedoExisting = False,
    quiet: o.Quiet = False,
    config: Annotated[
        list[str] | None,
        typer.Option(
            "-c",
            "--config",
            help="YAML file or KEY.PATH=VALUE of the selection config; repeatable.",
            rich_help_panel=o.CONFIG,
        ),
    ] = None,
    workers_old: o.OldWorkers = None,
    instance_id_old: Annotated[list[str] | None, typer.Option("--instance-id", hidden=True)] = None,
    official_images_old: Annotated[bool, typer.Option("--official-images", hidden=True)] = False,
    resume_old: Annotated[bool, typer.Option("--resume", hidden=True)] = False,
) -> None:
    """Pick one patch per instance from a candidate pool (execution voting + verifier) and write predictions.

    A rerun resumes: instances already in --out are kept unless --redo-existing.
    """
    from patchjury.core.config import build_config
    from patchjury.core.errors import UsageError
    from patchjury.core.select import TaskPlans, explanation_writer, static_checker
    from patchjury.envs.plan import EnvSettings
    from patchjury.envs.swebench.instances import select_ids
    from patchjury.envs.swebench.source import InstanceSource
    from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.pipeline import select_many
    from patchjury.selection.scores import SCORES
    from patchjury.selection.selectors import RULES

    test_workers = o.renamed("select", "--test-workers", test_workers, "--workers", workers_old)
    ids = o.renamed("select", "--instance-ids", o.split_ids(instance_ids), "--instance-id", instance_id_old)
    use_official_image = o.renamed(
        "select", "--use-official-image", use_official_image, "--official-images", official_images_old
    )
    if resume_old:
        if redo_existing:
            raise UsageError("--resume and --redo-existing contradict each other; pass one")
        o.warn_old("select", "--resume", "a rerun resumes by default now (--redo-existing decides again)")
    cfg: SelectionConfig = build_config(SelectionConfig, config or [])
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
    if test_workers is not None:
        execution = execution.model_copy(update={"workers": test_workers})
    cfg = cfg.model_copy(update={**overrides, "execution": execution})
    if env_kind not in ("local", "docker"):
        raise UsageError(f"unknown --env {env_kind!r}; choose local or docker")
    if not candidates.exists():
        raise UsageError(f"--candidates {candidates} does not exist; pass an existing file or folder")
    if not instances.is_file():
        raise UsageError(f"--instances {instances} does not exist; pass an existing file")
    if repo is not None and not repo.is_dir():
        raise UsageError(f"--repo {repo} is not a directory; pass the root of a git checkout")
    if repo_cache is not None and not repo_cache.is_dir():
        raise UsageError(
            f"--repo-cache {repo_cache} is not a directory; pass the directory of owner__name clones"
        )

    pools = group_by_instance(load_candidates(candidates))
    keep = select_ids(
        list(pools),
        ids,
        slice_,
        filter_,
        what=f"instances with candidates in {candidates}",
        fix="check the id",
    )
    if not keep:
        raise UsageError("no instance left to select (check --instance-ids / --slice / --filter)")
    pools = {iid: pools[iid] for iid in keep}
    tasks = load_tasks(instances)
    plans = None
    if cfg.execution.enabled:
        source = InstanceSource(
            instances=str(instances),
            repo_cache=repo_cache,
            allow_clone=not no_clone,
            recipes=recipes,
            use_official_image=use_official_image,
        )
        limits = {k: v for k, v in (("memory", memory), ("cpus", cpus)) if v is not None}
        env = EnvSettings.model_validate({"type": env_kind, "image": image, **limits})
        plans = TaskPlans(cfg, env, repo, source)
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
        resume=not redo_existing,
    )
    chosen = sum(1 for d in decisions if d.winner)
    kept = len(pools) - len(decisions)
    typer.echo(
        f"{len(decisions)} instance(s), {chosen} with a chosen patch ({cfg.selector}"
        f"{', no exec' if not cfg.execution.enabled else ''}) -> {out}; explanations in {explain}/"
        + (f"; kept {kept} already in {out.name} (--redo-existing decides them again)" if kept else "")
    )
    for note in notes:
        typer.echo(note)

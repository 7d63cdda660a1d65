"""`patchjury swebench run` (solve instances: N trajectories + the jury each) and `patchjury swebench eval` (grade
predictions), in containers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from patchjury.cli import options as o

app = typer.Typer(
    help="SWE-bench: solve instances (run) and grade predictions (eval), in containers.", no_args_is_help=True
)


@app.command("run")
def run_cmd(
    instances: o.Instances,
    instance_ids: o.InstanceIds = None,
    slice_: o.Slice = None,
    filter_: o.Filter = None,
    model: o.Models = None,
    n: o.Trajectories = None,
    max_cost: o.MaxCost = None,
    workers: o.Workers = 1,
    traj_workers: o.TrajWorkers = None,
    test_workers: o.TestWorkers = None,
    repo_cache: o.RepoCache = None,
    no_clone: o.NoClone = False,
    recipes: o.Recipes = None,
    use_official_image: o.UseOfficialImage = False,
    memory: o.Memory = None,
    cpus: o.Cpus = None,
    out: o.Out = Path("swebench_runs"),
    redo_existing: o.RedoExisting = False,
    eval_: Annotated[
        bool,
        typer.Option(
            "--eval",
            help="Grade each prediction as it lands; show resolved-so-far.",
            rich_help_panel=o.OUTPUT,
        ),
    ] = False,
    quiet: o.Quiet = False,
    config: o.Config = None,
    adaptive: o.Adaptive = False,
    ray: o.Ray = None,
    image_registry: o.ImageRegistry = None,
) -> None:
    """Solve SWE-bench instances: per instance an environment image, N trajectories, then the jury.

    Writes OUT/preds.jsonl (swebench format), OUT/instances/<id>/ (trajectories, candidates, explanation,
    result.json), OUT/summary.json and OUT/summary.md (cost, tokens, container-minutes, time). A rerun resumes:
    finished instances are skipped unless --redo-existing. One process per OUT at a time. Exit codes: 0 when at
    least one instance produced a patch, 1 when none did (every instance failed or ended without a patch),
    2 for bad arguments, input or setup (e.g. no Docker engine, OUT in use), 130 when interrupted.
    """
    from patchjury.core.interrupts import EXIT_INTERRUPTED
    from patchjury.core.settings import load_settings
    from patchjury.core.swebench_run import SWERunConfig, run_swebench
    from patchjury.report.console import make_console
    from patchjury.report.swebench import adaptive_line

    settings = load_settings(
        config or [],
        models=model or [],
        n=n,
        traj_workers=traj_workers,
        test_workers=test_workers,
        max_cost=max_cost,
        memory=memory,
        cpus=cpus,
        ray=ray,
        image_registry=image_registry,
        adaptive=adaptive,
    )
    cfg = SWERunConfig(
        instances=instances,
        instance_ids=o.split_ids(instance_ids),
        slice=slice_,
        filter=filter_,
        repo_cache=repo_cache,
        allow_clone=not no_clone,
        recipes=recipes,
        use_official_image=use_official_image,
        workers=workers,
        out=out,
        redo_existing=redo_existing,
        eval=eval_,
    )
    console = make_console()
    try:
        if settings.ray is not None:
            from patchjury.core.cluster.swebench import run_swebench_ray

            summary = run_swebench_ray(cfg, settings, progress=not quiet)
        else:
            summary = run_swebench(cfg, settings, progress=not quiet)
    except KeyboardInterrupt:
        console.print(
            f"interrupted: finished instances are kept in {out}; running ones resume from their last step. "
            "Rerun the same command to resume.",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    t = summary.totals
    console.print(
        f"{t.done}/{t.instances} done, {t.errors} errors; ${t.cost:.4f}, {t.tokens:,} tokens, "
        f"{t.container_minutes:.1f} container-minutes"
        + (f"; resolved {t.resolved}/{t.graded}" if t.graded is not None else "")
    )
    saved = adaptive_line(summary.instances)
    if saved:
        console.print(saved, markup=False, highlight=False)
    console.print(f"predictions: {out / 'preds.jsonl'}\nsummary:     {out / 'summary.md'}")
    produced = [r for r in summary.instances if r.status == "done" and r.model_patch.strip()]
    if not produced:
        errors = [r for r in summary.instances if r.status != "done"]
        console.print(
            f"error: no instance produced a patch ({len(errors)} failed, "
            f"{len(summary.instances) - len(errors)} ended without a patch); reasons in {out / 'summary.md'}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)


@app.command("eval")
def eval_cmd(
    predictions: Annotated[
        Path,
        typer.Option(
            "--predictions",
            "-p",
            help="Predictions (.jsonl/.json): instance_id, model_patch, model_name_or_path.",
            rich_help_panel=o.DATA,
        ),
    ],
    instances: o.Instances,
    instance_ids: o.InstanceIds = None,
    slice_: o.Slice = None,
    filter_: o.Filter = None,
    workers: o.Workers = 1,
    repo_cache: o.RepoCache = None,
    no_clone: o.NoClone = False,
    recipes: o.Recipes = None,
    use_official_image: o.UseOfficialImage = False,
    memory: o.Memory = None,
    cpus: o.Cpus = None,
    test_timeout: Annotated[
        float | None,
        typer.Option(
            "--test-timeout",
            min=1,
            help="Seconds per test run (default: the recipe's).",
            rich_help_panel=o.ENV,
        ),
    ] = None,
    out: o.Out = Path("swebench_eval"),
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Name results as the official harness does: OUT/logs/run_evaluation/RUN_ID/MODEL/<id>/ and "
            "OUT/MODEL.RUN_ID.json.",
            rich_help_panel=o.OUTPUT,
        ),
    ] = None,
    redo_existing: o.RedoExisting = False,
    quiet: o.Quiet = False,
    redo_old: Annotated[bool, typer.Option("--redo", hidden=True)] = False,
) -> None:
    """Grade predictions: model patch + test patch in a fresh container per instance, FAIL_TO_PASS and PASS_TO_PASS checked.

    Writes OUT/<instance_id>/report.json and OUT/summary.json (official keys), or with --run-id the official
    harness's layout. A rerun resumes: graded instances are skipped unless --redo-existing. Exit codes as the
    official harness: 0 when the run finished (whatever was resolved; per-instance errors are in the report),
    2 for bad arguments or input files, 1 when grading could not run (e.g. no Docker engine), 130 when
    interrupted.
    """
    from patchjury.envs.errors import EnvError
    from patchjury.envs.swebench.evaluate import EvalConfig, evaluate
    from patchjury.envs.swebench.predictions import load_predictions
    from patchjury.report.console import make_console

    redo_existing = o.renamed("swebench eval", "--redo-existing", redo_existing, "--redo", redo_old)
    if run_id is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", run_id):
        raise typer.BadParameter(
            "letters, digits, '.', '_' and '-' only (it names a directory)", param_hint="--run-id"
        )
    limits: dict[str, Any] = {k: v for k, v in (("memory", memory), ("cpus", cpus)) if v is not None}
    config = EvalConfig(
        predictions=predictions,
        instances=instances,
        instance_ids=o.split_ids(instance_ids),
        slice=slice_,
        filter=filter_,
        repo_cache=repo_cache,
        allow_clone=not no_clone,
        recipes=recipes,
        workers=workers,
        out=out,
        redo=redo_existing,
        use_official_image=use_official_image,
        test_timeout=test_timeout,
        run_id=run_id,
        **limits,
    )
    console = make_console()
    try:
        summary = evaluate(config, progress=not quiet)
    except ValueError:
        raise  # bad input (DatasetError, SelectionError, RecipeError...): one `error:` line, exit 2
    except EnvError as exc:  # the harness itself could not run (engine down...): exit 1, as a crash would
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print(
            f"interrupted: grading containers removed; rerun the same command to resume ({config.out})"
        )
        raise typer.Exit(130) from None
    console.print(
        f"resolved {summary['resolved_instances']}/{summary['submitted_instances']} submitted "
        f"({summary['total_instances']} selected): unresolved {summary['unresolved_instances']}, "
        f"empty {summary['empty_patch_instances']}, errors {summary['error_instances']}"
    )
    for iid, reason in sorted(summary["error_reasons"].items())[:20]:
        first = reason.strip().splitlines()[0] if reason.strip() else "unknown"
        console.print(f"  [red]error[/red] {iid}: {first[:300]}", markup=False, highlight=False)
    if summary["error_ids"]:
        console.print(f"  (full reasons: {config.instance_dir('<instance_id>')}/error.json)")
    typer.echo(str(config.summary_path(load_predictions(config.predictions))))

"""`patchjury swebench ...`: SWE-bench evaluation (and, later, solving)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

app = typer.Typer(
    help="SWE-bench: solve instances (run) and grade predictions (eval), in containers.", no_args_is_help=True
)


def split_ids(values: list[str] | None) -> list[str]:
    """`--instance-ids a,b --instance-ids c` -> [a, b, c] (commas or spaces separate ids)."""
    return [x for v in values or [] for x in v.replace(",", " ").split() if x]


@app.command("eval")
def eval_cmd(
    predictions: Path = typer.Option(
        ...,
        "--predictions",
        "-p",
        help="Predictions (.jsonl/.json): instance_id, model_patch, model_name_or_path.",
    ),
    instances: str = typer.Option(
        ...,
        "--instances",
        "-i",
        help="Instances file (.json/.jsonl(.gz)/.parquet) or HF dataset NAME[:SPLIT].",
    ),
    instance_ids: list[str] | None = typer.Option(
        None, "--instance-ids", help="Only these ids (repeat the flag or separate with commas/spaces)."
    ),
    slice_: str | None = typer.Option(None, "--slice", help="Python slice over the instances, e.g. 0:10."),
    filter_: str | None = typer.Option(None, "--filter", help="Regex an instance id must match."),
    repo_cache: Path | None = typer.Option(
        None,
        "--repo-cache",
        help="Dir of clones/bare mirrors named owner__name (default: $PATCHJURY_REPO_CACHE).",
    ),
    no_clone: bool = typer.Option(False, "--no-clone", help="Never git clone; use only the repo cache."),
    recipes: Path | None = typer.Option(None, "--recipes", help="Recipes YAML (default: the bundled one)."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Instances graded in parallel."),
    out: Path = typer.Option(Path("swebench_eval"), "--out", "-o", help="Output directory."),
    redo: bool = typer.Option(False, "--redo", help="Grade again instances that already have a report."),
    use_official_image: bool = typer.Option(
        False, "--use-official-image", help="docker pull the official image named in each instance."
    ),
    test_timeout: float | None = typer.Option(None, "--test-timeout", help="Seconds per test run."),
    memory: str = typer.Option("4g", "--memory", help="Memory limit per grading container (docker syntax)."),
    cpus: float = typer.Option(1.0, "--cpus", help="CPU limit per grading container."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    run_id: str | None = typer.Option(
        None,
        "--run-id",
        help="Name results as the official harness does: OUT/logs/run_evaluation/RUN_ID/MODEL/<id>/ and "
        "OUT/MODEL.RUN_ID.json.",
    ),
) -> None:
    """Grade predictions: model patch + test patch in a fresh container per instance, FAIL_TO_PASS and PASS_TO_PASS checked.

    Writes OUT/<instance_id>/report.json and OUT/summary.json (official keys), or with --run-id the official
    harness's layout; reruns skip graded instances. Exit codes as the official harness: 0 when the run
    finished (whatever was resolved; per-instance errors are in the report), 2 for bad arguments or input
    files, 1 when grading could not run (e.g. no Docker engine), 130 when interrupted.
    """
    from rich.console import Console

    from patchjury.envs.errors import EnvError
    from patchjury.envs.swebench.evaluate import EvalConfig, evaluate
    from patchjury.envs.swebench.predictions import load_predictions

    if run_id is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", run_id):
        raise typer.BadParameter(
            "letters, digits, '.', '_' and '-' only (it names a directory)", param_hint="--run-id"
        )
    config = EvalConfig(
        predictions=predictions,
        instances=instances,
        instance_ids=split_ids(instance_ids),
        slice=slice_,
        filter=filter_,
        repo_cache=repo_cache,
        allow_clone=not no_clone,
        recipes=recipes,
        workers=workers,
        out=out,
        redo=redo,
        use_official_image=use_official_image,
        test_timeout=test_timeout,
        memory=memory,
        cpus=cpus,
        run_id=run_id,
    )
    console = Console(stderr=True)
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

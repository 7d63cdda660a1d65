"""`patchjury swebench run`: solve SWE-bench instances (N trajectories + the jury each); registered onto the
`swebench` sub-app by patchjury.cli._register()."""

from __future__ import annotations

from pathlib import Path

import typer

from patchjury.cli.swebench import split_ids


def run_cmd(
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
    model: list[str] = typer.Option(
        [],
        "--model",
        "-m",
        help="litellm name (or deterministic:SCRIPT.yaml, replay:TRAJ.json); repeat to mix.",
    ),
    n: int | None = typer.Option(None, "-n", "--trajectories", help="Trajectories per instance."),
    traj_workers: int | None = typer.Option(
        None, "--traj-workers", help="Trajectories at once per instance."
    ),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Instances processed in parallel."),
    config: list[str] = typer.Option(
        [], "-c", "--config", help="Config YAML file or KEY.PATH=VALUE; repeatable."
    ),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Dollar budget per instance."),
    out: Path = typer.Option(Path("swebench_runs"), "--out", "-o", help="Output directory."),
    redo_existing: bool = typer.Option(False, "--redo-existing", help="Run finished instances again."),
    eval_: bool = typer.Option(
        False, "--eval", help="Grade each prediction as it lands; show resolved-so-far."
    ),
    repo_cache: Path | None = typer.Option(
        None,
        "--repo-cache",
        help="Dir of clones/bare mirrors named owner__name (default: $PATCHJURY_REPO_CACHE).",
    ),
    no_clone: bool = typer.Option(False, "--no-clone", help="Never git clone; use only the repo cache."),
    recipes: Path | None = typer.Option(
        None, "--recipes", help="Install recipes YAML (default: the bundled one)."
    ),
    use_official_image: bool = typer.Option(
        False, "--use-official-image", help="docker pull the official image named in each instance."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live progress view."),
) -> None:
    """Solve SWE-bench instances: per instance an environment image, N trajectories, then the jury.

    Writes OUT/preds.jsonl (swebench format), OUT/instances/<id>/ (trajectories, candidates, explanation),
    OUT/summary.json and OUT/summary.md (cost, tokens, container-minutes, time). Resumable: finished
    instances are skipped unless --redo-existing.
    """
    from rich.console import Console

    from patchjury.core.settings import load_settings
    from patchjury.core.swebench_run import SWERunConfig, run_swebench

    settings = load_settings(config, models=model, n=n, workers=traj_workers, max_cost=max_cost)
    cfg = SWERunConfig(
        instances=instances,
        instance_ids=split_ids(instance_ids),
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
    summary = run_swebench(cfg, settings, progress=not quiet)
    t = summary["totals"]
    console = Console(stderr=True)
    console.print(
        f"{t['done']}/{t['instances']} done, {t['errors']} errors; ${t['cost']:.4f}, {t['tokens']:,} tokens, "
        f"{t['container_minutes']:.1f} container-minutes"
        + (f"; resolved {t['resolved']}/{t['graded']}" if "resolved" in t else "")
    )
    console.print(f"predictions: {out / 'preds.jsonl'}\nsummary:     {out / 'summary.md'}")

"""`patchjury verifier ...`: train the execution-free verifier on your labeled runs, export SFT data for a judge."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Train the execution-free verifier or export judge fine-tuning data.", no_args_is_help=True
)


@app.command()
def train(
    candidates: Path = typer.Option(
        ..., help="Labeled candidates JSONL(.gz): instance_id, model_patch, resolved."
    ),
    instances: list[Path] = typer.Option(
        ..., help="SWE-bench-format instances JSONL(.gz) with problem statements."
    ),
    out: Path = typer.Option(..., help="Directory for verifier-v2.json and MODEL_CARD.md."),
    extra: list[Path] = typer.Option([], help="Extra labeled candidates, used on the training side only."),
    kind: list[str] = typer.Option(["logreg", "gbdt"], help="Model kinds to try (chosen by grouped CV)."),
    folds: int = typer.Option(5, help="Grouped (by instance) cross-validation folds."),
    repeats: int = typer.Option(3, help="CV repeats with different instance shuffles."),
    augment: int = typer.Option(4, help="Random sub-pools per pool added to training."),
    exclude_feature: list[str] | None = typer.Option(
        None,
        help="A feature the model must not use (repeatable). Default: the system-proxy features "
        "(selection.training.proxies.PROXY_FEATURES).",
    ),
    all_features: bool = typer.Option(
        False,
        "--all-features",
        help="Use every feature, including the system proxies (fine when your pool comes from one system).",
    ),
    static_checks: Path | None = typer.Option(
        None, help="Saved static-check reports (scripts/collect_static_checks.py) for the static_* features."
    ),
    repo_cache: Path | None = typer.Option(
        None, help="Directory of owner__name clones: compute the static_* features from the base commits."
    ),
) -> None:
    """Train by grouped CV, print AUROC and selection accuracy, write the artifact and model card.

    Without --static-checks or --repo-cache the static_* features read "not checked" (the model cannot use them).

    Use it with `patchjury.selection.verifier.model_path: OUT/verifier-v2.json` in the config.
    """
    from patchjury.selection.training.proxies import PROXY_FEATURES
    from patchjury.selection.training.run import run_training

    if all_features and exclude_feature:
        raise typer.BadParameter("--all-features and --exclude-feature contradict each other; pass one")
    exclude = [] if all_features else (exclude_feature or list(PROXY_FEATURES))

    bad = [k for k in kind if k not in ("logreg", "gbdt")]
    if bad:
        raise typer.BadParameter(f"unknown kind {bad[0]!r}; choose logreg or gbdt", param_hint="--kind")
    static = None
    if static_checks is not None or repo_cache is not None:
        from patchjury.selection.static_check import StaticChecker, cache_source, load_static_reports

        static = StaticChecker(
            cache_source(repo_cache) if repo_cache is not None else None,
            load_static_reports(static_checks) if static_checks is not None else None,
        )
    run_training(
        candidates,
        instances,
        out,
        kind,
        extra,
        folds,
        repeats,
        augment,
        log=typer.echo,
        exclude=exclude,
        static=static,
        static_label=", ".join(str(p) for p in (static_checks, repo_cache) if p is not None),
    )


@app.command("export-sft")
def export_sft(
    candidates: Path = typer.Option(
        ..., help="Labeled candidates JSONL(.gz) (resolved true/false, trajectories optional)."
    ),
    instances: list[Path] = typer.Option(
        ..., help="SWE-bench-format instances JSONL(.gz) with problem statements."
    ),
    out: Path = typer.Option(..., help="Output chat-format JSONL."),
    max_steps: int = typer.Option(40, help="Trajectory steps kept per example (the last ones)."),
    max_chars: int = typer.Option(60000, help="Prompt length cap in characters."),
    keep_empty: bool = typer.Option(False, help="Also export candidates with an empty patch."),
) -> None:
    """Write chat-format lines (system, user, assistant YES or NO) for fine-tuning a YES/NO judge."""
    from patchjury.selection.candidates import load_candidates
    from patchjury.selection.training.run import load_all_tasks
    from patchjury.selection.training.sft import export_sft as run
    from patchjury.selection.verifier.config import VerifierConfig

    cfg = VerifierConfig(type="judge", max_steps=max_steps, max_chars=max_chars)
    counts = run(load_candidates(candidates), load_all_tasks(instances), out, cfg, skip_empty=not keep_empty)
    typer.echo(
        f"wrote {counts['written']} examples to {out} ({counts['yes']} YES, {counts['no']} NO; "
        f"{counts['skipped_empty']} empty patches skipped)"
    )


@app.command("fit-weights")
def fit_weights_cmd(
    predictions: Path = typer.Option(
        ...,
        help="Output of `patchjury select --out` (each row keeps every candidate's evidence under `scores`).",
    ),
    labels: Path = typer.Option(
        ..., help="JSONL(.gz) rows with instance_id, candidate_id and resolved (other fields ignored)."
    ),
    out: Path = typer.Option(..., help="YAML config to write; use it with `patchjury select -c OUT`."),
    folds: int = typer.Option(5, help="Grouped (by instance) folds for the out-of-fold check."),
    c: float = typer.Option(1.0, "--c", help="Inverse L2 regularisation strength of the logistic fit."),
) -> None:
    """Fit the `learned` selector's signal weights (votes, regression, cluster, verifier) on your labeled runs.

    Prints the out-of-fold pick accuracy of the fitted weights next to the shipped priors and the `staged` rule,
    so you can see whether switching helps on your data before you do.
    """
    import yaml

    from patchjury.core.errors import UsageError
    from patchjury.selection.errors import SelectionConfigError
    from patchjury.selection.training.weights import fit_weights, grouped_cv, load_labeled_pools

    for label, path in (("--predictions", predictions), ("--labels", labels)):
        if not path.is_file():
            raise UsageError(f"{label} {path} does not exist; pass an existing file")
    if c <= 0 or folds < 2:
        raise UsageError(f"--c must be > 0 and --folds >= 2 (got --c {c}, --folds {folds})")
    pools, skipped = load_labeled_pools(predictions, labels)
    for note in skipped:
        typer.echo(f"left out {note}")
    weights = fit_weights(pools, c)
    try:
        report = grouped_cv(pools, folds, c)
    except SelectionConfigError as exc:
        typer.echo(f"no out-of-fold check: {exc}")
    else:
        for line in report.lines():
            typer.echo(line)
    mixed = sum(1 for _, _, y in pools if len(set(y)) == 2)
    header = (
        f"# `learned` selector weights fitted by `patchjury verifier fit-weights` on {mixed} of {len(pools)} labeled "
        f"pools (those whose labels differ), from {predictions.name} and {labels.name}\n"
    )
    body = yaml.safe_dump({"selector": "learned", "learned": weights.model_dump()}, sort_keys=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + body)
    typer.echo(f"wrote {out}: " + ", ".join(f"{k} {v:+.3f}" for k, v in weights.model_dump().items()))

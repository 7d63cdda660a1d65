"""End-to-end training run: load pools, pick a model by grouped CV, fit on everything, write artifact + card."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from patchjury.records import Task
from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
from patchjury.selection.static_check import StaticChecker
from patchjury.selection.training.proxies import PROXY_FEATURES
from patchjury.selection.training.train import CVReport, Pool, build_pools, cross_validate, design, fit
from patchjury.selection.verifier.model import VerifierModel

ARTIFACT = "verifier-v2.json"
"""File name of the artifact written by a training run (and loaded by default, sklearn_verifier.DEFAULT_ARTIFACT)."""

GRID: dict[str, list[dict[str, Any]]] = {
    "logreg": [{"C": c, "pools": pools} for pools in ("all", "mixed") for c in (0.01, 0.1, 1.0)],
    "gbdt": [{"n_estimators": 100, "max_depth": 2, "learning_rate": 0.05, "pools": "all"}],
}
"""`pools`: train on all pools, or only on "mixed" pools (both labels present; see train.design)."""


@dataclass
class TrainingResult:
    model: VerifierModel
    chosen: CVReport
    reports: list[CVReport]
    extra_reports: list[CVReport]
    n_candidates: int
    n_instances: int


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def load_all_tasks(paths: Sequence[str | Path]) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    for p in paths:
        tasks.update(load_tasks(p))
    return tasks


def extra_pools(
    paths: Sequence[str | Path], tasks: dict[str, Task], log: Any, static: StaticChecker | None = None
) -> list[Pool]:
    """Extra labeled data (training side only); instances without a problem statement are skipped and counted."""
    pools: list[Pool] = []
    for p in paths:
        groups = group_by_instance(load_candidates(p))
        known = {k: v for k, v in groups.items() if k in tasks}
        log(
            f"extra data {p}: {sum(map(len, known.values()))} candidates on {len(known)} instances used; "
            f"{len(groups) - len(known)} instances skipped (no problem statement in the instances files)"
        )
        pools.extend(build_pools(known, tasks, static))
    return pools


def run_training(
    candidates: str | Path,
    instances: Sequence[str | Path],
    out_dir: str | Path,
    kinds: Sequence[str] = ("logreg", "gbdt"),
    extra: Sequence[str | Path] = (),
    folds: int = 5,
    repeats: int = 3,
    augment: int = 4,
    seed: int = 0,
    log: Any = print,
    exclude: Sequence[str] = PROXY_FEATURES,
    static: StaticChecker | None = None,
    static_label: str = "",
) -> TrainingResult:
    """Grouped-CV model choice (by selection accuracy, then AUROC), final fit on all pools, artifact + card.

    `exclude`: feature names the model must not use (weight 0); by default the features that identify the
    producing system in a multi-system pool (selection.training.proxies.PROXY_FEATURES). Pass () to use all.
    `static` supplies the static-check features (saved reports or a repository source, described by
    `static_label` in the model card); without it they read "not checked" and get no weight to learn."""
    cands = load_candidates(candidates)
    groups = group_by_instance(cands)
    tasks = load_all_tasks(instances)
    pools = build_pools(groups, tasks, static)
    folds = max(2, min(folds, len(pools)))
    log(
        f"{len(cands)} candidates on {len(pools)} instances; {folds}-fold CV grouped by instance x {repeats} repeats"
    )
    reports = []
    for kind in kinds:
        for grid_params in GRID[kind]:
            params = {**grid_params, "exclude": sorted(exclude)} if exclude else grid_params
            rep = cross_validate(pools, kind, params, folds, repeats, augment, seed)
            log(
                f"  {kind} {params}: AUROC {rep.auroc:.3f}  selection accuracy {rep.selection_accuracy:.3f}  "
                f"verifier-weighted cluster vote {rep.cluster_vote_accuracy:.3f}"
            )
            reports.append(rep)
    chosen = max(reports, key=lambda r: (round(r.selection_accuracy, 4), r.auroc))
    xpools = extra_pools(extra, tasks, log, static) if extra else []
    extra_reports = []
    if xpools:
        rep = cross_validate(pools, chosen.kind, chosen.params, folds, repeats, augment, seed, extra=xpools)
        log(
            f"  with extra data: AUROC {rep.auroc:.3f}  selection accuracy {rep.selection_accuracy:.3f}  "
            f"(validation folds are the main pools only)"
        )
        extra_reports.append(rep)
    X, y, w = design(pools, augment, np.random.default_rng(seed), chosen.params.get("pools") == "mixed")
    meta = {
        "version": 2,
        "excluded_features": sorted(exclude),
        "static_checks": static_label if static is not None else "",
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "training_data": {
            "candidates": Path(candidates).name,
            "sha256_16": _sha(Path(candidates)),
            "instances": [Path(p).name for p in instances],
            "n_candidates": len(cands),
            "n_instances": len(pools),
            "n_resolved": int(sum(p.labels.sum() for p in pools)),
        },
        "augment": augment,
        "cv": [r.summary() for r in reports],
        "cv_chosen": chosen.summary(),
        "cv_with_extra": [r.summary() for r in extra_reports],
    }
    model = fit(chosen.kind, X, y, w, chosen.params, seed)
    model.meta = meta
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / ARTIFACT)
    (out / "MODEL_CARD.md").write_text(model_card(model, reports, chosen, extra_reports, extra))
    log(
        f"chose {chosen.kind} {chosen.params}; wrote {out / ARTIFACT} "
        f"({(out / ARTIFACT).stat().st_size} bytes) and {out / 'MODEL_CARD.md'}"
    )
    return TrainingResult(model, chosen, reports, extra_reports, len(cands), len(pools))


def model_card(
    model: VerifierModel,
    reports: list[CVReport],
    chosen: CVReport,
    extra_reports: list[CVReport],
    extra: Sequence[str | Path],
) -> str:
    td = model.meta["training_data"]
    rows = "\n".join(
        f"| {r.kind} | {r.params} | {r.auroc:.3f} | {r.selection_accuracy:.3f} | {r.cluster_vote_accuracy:.3f} |"
        for r in reports
    )
    xrows = "\n".join(
        f"| {r.kind} + extra ({', '.join(Path(p).name for p in extra)}) | {r.params} | {r.auroc:.3f} | "
        f"{r.selection_accuracy:.3f} | {r.cluster_vote_accuracy:.3f} |"
        for r in extra_reports
    )
    weights = ""
    if model.kind == "logreg":
        coef = sorted(zip(model.feature_names, model.params["coef"], strict=True), key=lambda t: -abs(t[1]))
        weights = (
            "\n## Standardized weights (largest first)\n\n| feature | weight |\n|---|---|\n"
            + "\n".join(f"| {n} | {w:+.3f} |" for n, w in coef)
            + "\n"
        )
    excluded = model.meta.get("excluded_features", [])
    used = [n for n in model.feature_names if n not in excluded]
    return f"""# patchjury execution-free verifier, v{model.meta["version"]}

Model: `{model.kind}` {chosen.params}, trained {model.meta["trained_at"]} by `scripts/train_verifier.py`
(or `patchjury verifier train`). Artifact: `{ARTIFACT}` (JSON, numpy inference, no pickle).

## Training data
- `{td["candidates"]}` (sha256 prefix `{td["sha256_16"]}`): {td["n_candidates"]} candidates, {td["n_instances"]}
  instances, {td["n_resolved"]} resolved. Problem statements from {", ".join(td["instances"])}.
- Each pool is also featurized on {model.meta["augment"]} random sub-pools (sub-pool copies of a pool weigh 1 in
  total), so pool features match small-K use.
- Labels: the candidates' `resolved` field (systems' published evaluation reports).
- Static checks (`static_*` features): {model.meta.get("static_checks") or 'none given (the features read "not checked")'}.

## Features used ({len(used)})
{", ".join(f"`{n}`" for n in used)}

## Features excluded ({len(excluded)}, weight 0)
{", ".join(f"`{n}`" for n in excluded) or "none"}

Reason: on a multi-system training pool these patch properties identify WHICH system wrote a patch (one-vs-rest
system AUROC >= 0.65, direction-free) while saying little about whether it is right (label AUROC < 0.60); a model
using them learns "this looks like the best system's patch", which the honesty rule forbids (never use the
producing system, directly or by proxy). Rule and table: `scripts/audit_verifier_features.py`,
`selection/training/proxies.py`, docs/selection-benchmark.md. On the lite pool `raw_touches_tests` (editing existing
tests) marks the best system (68% of its patches vs 0-4% of the others'), `raw_adds_scratch` marks SWE-agent,
`comment_lines_added` AutoCodeRover, `size_rel_median` and `rel_log_removed` Moatless-GPT-4o's shorter patches.
The v1 artifact used them and reached 40.1% selection accuracy in the same CV, mostly by recognizing the best
system's patches (it picked that system's candidate on 56.5% of instances); it was withdrawn.

Never used either: the producing system's name/run/model and other provenance fields (system, run, model,
label_source, source, model_name_or_path), cost, the label, or any gold field of the instance (patch, test_patch,
FAIL_TO_PASS, PASS_TO_PASS, eval_script). A test (tests/selection/test_verifier_features.py) checks this, and
tests/selection/test_verifier_model.py checks that this artifact gives every excluded feature weight 0. Hunk-header
text is not used: which diff tool wrote the patch is a fingerprint of the producing system.

## Cross-validation (grouped by instance, {chosen.folds} folds x {chosen.repeats} repeats)
Each instance is scored only by models that never saw it; its out-of-fold scores are averaged over the repeats.
Selection accuracy: per instance, the top-scored candidate's label (ties: mean of the tied set), over the full pool.
Cluster vote: the normalized-patch cluster with the largest sum of verifier scores.

| model | params | AUROC | selection accuracy | verifier-weighted cluster vote |
|---|---|---|---|---|
{rows}
{xrows}

`pools: mixed` = trained only on pools holding both resolved and unresolved candidates (the pools where a pick
matters); `all` = every pool. Chosen by selection accuracy (then AUROC) among these {len(reports)} configurations on
the same folds, so the chosen row is optimistically biased by the choice itself (small: a handful of configurations,
but the spread between them, a few points, is of the same order as the noise on {model.meta["training_data"]["n_instances"]} instances).
Reference points on the lite pool: best single system 40.3% of its instances, majority vote 31.0%, oracle 51.4%,
random 25.1%. AUROC pools all instances, so it mostly measures instance difficulty (pool agreement), not the
within-pool ranking that selection needs.
{weights}
## Caveats
- Without the system proxies this verifier is at majority-vote level on the lite pool: execution-free patch and pool
  features carry little within-pool signal there. Use it as a tie-breaker behind execution evidence.
- The trajectory features (`has_trajectory`, `log_steps`, `status_submitted`, `reproduced*`, `log_n_tests`) are
  constant in this training data (no trajectories or tests come with the published pools), so this model gives them
  no weight; retrain on your own labeled runs (`patchjury verifier train`) to use them. On a pool from ONE system
  the excluded features cannot identify a system; `patchjury verifier train --all-features` then uses them.
"""

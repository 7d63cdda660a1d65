"""The real-pool benchmark of issue 12, end to end: build the settings' pools, out-of-fold verifier scores, replay
every rule from the saved evidence, and report Best@K, paired bootstrap intervals, per-repository rows and cost.

Settings (selection/training/pools.py):
- `mixed`: lite_candidates_train merged with the candidates carrying their scripts and trajectories (181
  instances, about 11 candidates each). The verifier sees exactly what the published pools offer (patch, issue,
  pool agreement): trajectories and scripts exist only for 4 of the 13 runs, so reading them would identify those
  systems (scripts/audit_verifier_features.py --pool trajectories); execution reads the scripts.
- `same_agent`: the 3 SWE-agent runs on the 165 instances where all three answered (what a patchjury run looks
  like). Here every candidate has a trajectory, so the trajectory-aware verifier (trajectory digest features, no
  proxy of the run: --pool same_agent --field run) is trained on these pools, grouped by instance.

Verifier folds are grouped by instance (5 folds); every instance is scored by a model that never saw it. The model
family and parameters are the shipped artifact's (fixed a priori: nothing is tuned on these pools).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from patchjury.records import Candidate, Task
from patchjury.selection.candidates import json_rows
from patchjury.selection.patch_parse import patch_sha1
from patchjury.selection.static_check import error_count, saved_checker
from patchjury.selection.training.bench import Case, best_at_k_curves
from patchjury.selection.training.bestk import paired_bootstrap
from patchjury.selection.training.evidence import InstanceEvidence
from patchjury.selection.training.pools import lite_pools, same_agent_keys
from patchjury.selection.training.proxies import PROXY_FEATURES, audit
from patchjury.selection.training.train import Pool, fold_models
from patchjury.selection.verifier.features import FEATURE_NAMES, PoolFeaturizer
from patchjury.selection.verifier.model import VerifierModel
from patchjury.selection.verifier.trajectory import TRAJECTORY_FEATURES

TRAJECTORY_ONLY = [
    "has_trajectory",
    "log_steps",
    "status_submitted",
    "reproduced_known",
    "reproduced",
    "log_n_tests",
]
"""Base features that read the trajectory or the carried tests (constant in the published pools)."""


@dataclass
class SettingResult:
    setting: str
    curves: dict[str, list[float]]
    full: dict[str, dict[str, float]]
    """instance -> method -> full-pool value (mean over splits)."""
    references: dict[str, dict[str, float]]
    """name -> instance -> label of a single system/run (for the report only)."""
    cases: list[Case]
    excluded: list[str]
    """Features the verifier was not allowed to use."""
    values: dict[str, np.ndarray] = field(default_factory=dict)
    """method -> (cases x K) Best@K value per instance (mean over splits), in `cases` order."""

    def interval(self, method: str, seed: int = 0, other: str | None = None) -> list[tuple[float, float]]:
        """Per K, the 95% bootstrap interval over instances (10,000 resamples) of the method's Best@K, or of its
        difference to `other` (paired)."""
        rng = np.random.default_rng(seed)
        a = self.values[method]
        b = self.values[other] if other else np.zeros_like(a)
        out = []
        for k in range(a.shape[1]):
            _, lo, hi = paired_bootstrap(a[:, k].tolist(), b[:, k].tolist(), 10_000, rng)
            out.append((lo, hi))
        return out


def _label(c: Candidate) -> bool:
    return bool((c.model_extra or {}).get("resolved"))


def _old_regression(paths: Sequence[str | Path]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for path in paths:
        for _, rec in json_rows(Path(path)):
            if rec.get("error") or rec.get("signals") == "repro":
                continue
            for row in rec.get("candidates", []):
                if row.get("regression_failures") is not None:
                    out[(rec["instance_id"], row["patch_sha1"])] = int(row["regression_failures"])
    return out


def _bare(c: Candidate) -> Candidate:
    """What the execution-free verifier of the mixed setting reads: the patch only."""
    return Candidate(instance_id=c.instance_id, candidate_id=c.candidate_id, model_patch=c.model_patch)


def build_cases(
    setting: str,
    data: Path,
    tasks: dict[str, Task],
    evidence: dict[str, InstanceEvidence],
    old_regression: Sequence[str | Path] = (),
    static_checks: str | Path | None = None,
) -> tuple[list[Case], dict[str, list[Candidate]]]:
    """The setting's cases and its candidates per instance (labels and provenance stay in the extras)."""
    mixed = lite_pools(data, "mixed")
    if setting == "mixed":
        chosen = mixed
    elif setting == "same_agent":
        keys = same_agent_keys(mixed)
        chosen = {iid: [c for k in ks for c in mixed[iid] if c.candidate_id == k] for iid, ks in keys.items()}
    else:
        raise ValueError(f"unknown setting {setting!r}: mixed or same_agent")
    old = _old_regression(old_regression)
    checker = saved_checker(static_checks) if static_checks else None
    cases = []
    for iid, cands in sorted(chosen.items()):
        seen = [_bare(c) for c in cands] if setting == "mixed" else cands
        reports = checker.reports(tasks[iid], cands) if checker else None
        cases.append(
            Case(
                iid,
                [c.candidate_id for c in cands],
                np.array([_label(c) for c in cands], dtype=bool),
                PoolFeaturizer(tasks[iid], seen, reports),
                evidence.get(iid),
                [error_count(r) for r in reports] if reports else None,
                # counts measured on any candidate of the instance (the whole mixed pool): a cluster's count
                # is read through any member with the same patch
                {c.candidate_id: old.get((iid, patch_sha1(c.model_patch))) for c in mixed[iid]},
            )
        )
    return cases, chosen


def excluded(setting: str, cases: Sequence[Case], chosen: dict[str, list[Candidate]]) -> list[str]:
    """Features the setting's verifier must not use: the shipped exclusions, plus every feature the audit rule
    (selection/training/proxies.py) flags on this setting's pools as it featurizes them: producing system in the
    mixed pools (there the scripts and trajectories of 4 of the 13 runs would identify them, so they are not read
    at all), the run in the same-agent pools."""
    field = "system" if setting == "mixed" else "run"
    X = np.vstack([c.featurizer.features() for c in cases])
    y = np.concatenate([c.labels for c in cases])
    who = [str((cand.model_extra or {}).get(field)) for c in cases for cand in chosen[c.instance_id]]
    flagged = {r.feature for r in audit(X, y, who, FEATURE_NAMES) if r.proxy}
    if setting == "mixed":
        flagged |= {*TRAJECTORY_ONLY, *TRAJECTORY_FEATURES}
    return sorted({*PROXY_FEATURES, *flagged})


def split_models(
    setting: str,
    cases: Sequence[Case],
    artifact: VerifierModel,
    exclude: Sequence[str],
    splits: int,
    seed: int,
    folds: int = 5,
) -> Iterator[dict[str, VerifierModel]]:
    """Per fold split (seed + r), instance -> a verifier of the artifact's kind and parameters trained on the other
    folds' instances, without the `exclude`d features (same agent: trained on all pools)."""
    params: dict[str, Any] = {**artifact.meta["cv_chosen"]["params"], "exclude": list(exclude)}
    if setting == "same_agent":
        params["pools"] = "all"  # 18 of 165 pools hold both labels: too few to train on those alone
    augment = int(artifact.meta.get("augment", 0))
    pools = [Pool(c.instance_id, c.featurizer, c.labels) for c in cases]
    for r in range(splits):
        yield fold_models(pools, artifact.kind, params, folds, augment, seed + r)


def run_setting(
    setting: str,
    cases: list[Case],
    chosen: dict[str, list[Candidate]],
    artifact: VerifierModel,
    splits: int = 3,
    seed: int = 0,
    trajectory_features: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SettingResult:
    """Best@K of every method, averaged over `splits` fold splits of the verifier."""
    exclude = excluded(setting, cases, chosen)
    if setting == "same_agent" and not trajectory_features:
        exclude = sorted({*exclude, *TRAJECTORY_FEATURES})
    columns = list(range(len(FEATURE_NAMES)))
    runs_curves, runs_full, runs_values = [], [], []
    for r, models in enumerate(split_models(setting, cases, artifact, exclude, splits, seed)):
        values: dict[str, np.ndarray] = {}
        curves, full = best_at_k_curves(
            cases, models, columns, seed + r, progress=progress, per_instance=values
        )
        runs_curves.append(curves)
        runs_full.append(full)
        runs_values.append(values)
    curves = {m: list(np.mean([rc[m] for rc in runs_curves], axis=0)) for m in runs_curves[0]}
    full = {
        iid: {m: float(np.mean([rf[iid][m] for rf in runs_full])) for m in runs_full[0][iid]}
        for iid in runs_full[0]
    }
    values = {m: np.mean([rv[m] for rv in runs_values], axis=0) for m in runs_values[0]}
    return SettingResult(setting, curves, full, references(chosen, setting), cases, exclude, values)


def references(chosen: dict[str, list[Candidate]], setting: str) -> dict[str, dict[str, float]]:
    """Single systems (mixed) or single runs and any-of-three (same agent): instance -> label. Provenance is read
    here for the report only, never by a rule."""
    per: dict[str, dict[str, float]] = defaultdict(dict)
    for iid, cands in chosen.items():
        for c in cands:
            extra = c.model_extra or {}
            name = (
                f"{extra.get('system')}/{extra.get('run')}"
                if setting == "same_agent"
                else str(extra.get("system"))
            )
            per[name][iid] = max(per[name].get(iid, 0.0), float(_label(c)))
        if setting == "same_agent":
            per["any of the three runs (oracle)"][iid] = float(any(_label(c) for c in cands))
    return dict(per)


def bootstrap_lines(
    result: SettingResult, pairs: Sequence[tuple[str, str]], refs: Sequence[str], seed: int = 0
) -> list[str]:
    """Paired bootstrap (10,000 resamples, 95%) of full-pool picks: method vs method, and method vs references."""
    rng = np.random.default_rng(seed)
    iids = sorted(result.full)
    out = []
    for a, b in pairs:
        d, lo, hi = paired_bootstrap(
            [result.full[i][a] for i in iids], [result.full[i][b] for i in iids], 10_000, rng
        )
        out.append(f"- {a} minus {b}: {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] on {len(iids)}")
    for a in pairs[0][:1]:
        for name in refs:
            ref = result.references[name]
            both = [i for i in iids if i in ref]
            d, lo, hi = paired_bootstrap(
                [result.full[i][a] for i in both], [ref[i] for i in both], 10_000, rng
            )
            out.append(
                f"- {a} minus {name}: {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] on {len(both)}"
            )
    return out


def per_repository(result: SettingResult, methods: Sequence[str]) -> str:
    """Full-pool resolve rate per repository and method (instances with evidence counted)."""
    by: dict[str, list[str]] = defaultdict(list)
    for iid in result.full:
        by[iid.split("__")[0]].append(iid)
    head = "| repository | instances | mixed labels | " + " | ".join(methods) + " |"
    rows = [head, "|---|---|---|" + "---|" * len(methods)]
    mixed = {c.instance_id for c in result.cases if c.mixed}
    for repo in sorted(by):
        iids = by[repo]
        vals = " | ".join(f"{100 * np.mean([result.full[i][m] for i in iids]):.1f}" for m in methods)
        rows.append(f"| {repo} | {len(iids)} | {sum(i in mixed for i in iids)} | {vals} |")
    return "\n".join(rows)


@dataclass
class CVRow:
    name: str
    excluded: list[str]
    auroc: float
    auroc_mixed: float
    """AUROC within the pools holding both labels (pooled candidates of those pools)."""
    selection: dict[str, float]
    """instance -> top-scored candidate's label (ties: mean), pools holding both labels only."""


def verifier_cv(
    setting: str,
    cases: Sequence[Case],
    chosen: dict[str, list[Candidate]],
    artifact: VerifierModel,
    repeats: int = 3,
    seed: int = 0,
) -> list[CVRow]:
    """Grouped 5-fold CV by instance (out-of-fold scores averaged over `repeats` shuffles) of the artifact's model
    family on the setting's pools: without trajectory features, with the older trajectory facts (steps,
    submitted, reproduced), and with the trajectory digest too. Every variant also leaves out what the audit rule
    flags on these pools (`excluded`)."""
    from patchjury.selection.training.bestk import pick_value
    from patchjury.selection.training.train import cross_validate

    base = excluded(setting, cases, chosen)
    variants = [
        ("without trajectory features", sorted({*base, *TRAJECTORY_ONLY, *TRAJECTORY_FEATURES})),
        ("trajectory facts (steps, submitted, reproduced)", sorted({*base, *TRAJECTORY_FEATURES})),
        ("facts + trajectory digest (issue 12)", base),
    ]
    pools = [Pool(c.instance_id, c.featurizer, c.labels) for c in cases]
    mixed = [p for p in pools if 0 < int(p.labels.sum()) < len(p.labels)]
    params: dict[str, Any] = dict(artifact.meta["cv_chosen"]["params"])
    if setting == "same_agent":
        params["pools"] = "all"
    rows = []
    for name, exclude in variants:
        rep = cross_validate(
            pools,
            artifact.kind,
            {**params, "exclude": exclude},
            5,
            repeats,
            int(artifact.meta.get("augment", 0)),
            seed,
        )
        y = np.concatenate([p.labels for p in mixed])
        s = np.concatenate([rep.oof[p.instance_id] for p in mixed])
        from sklearn.metrics import roc_auc_score

        rows.append(
            CVRow(
                name,
                exclude,
                rep.auroc,
                float(roc_auc_score(y, s)) if mixed else float("nan"),
                {
                    p.instance_id: pick_value(rep.oof[p.instance_id], p.labels, p.featurizer.valid)
                    for p in mixed
                },
            )
        )
    return rows


def cv_lines(rows: Sequence[CVRow], seed: int = 0) -> list[str]:
    """Markdown table of the CV rows, and the paired bootstrap of selection accuracy against the first row."""
    rng = np.random.default_rng(seed)
    iids = sorted(rows[0].selection)
    out = [
        "| verifier features | AUROC (all candidates) | AUROC (pools with both labels) | selection accuracy "
        f"(top pick resolved, {len(iids)} pools with both labels) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        acc = np.mean([r.selection[i] for i in iids]) if iids else float("nan")
        out.append(f"| {r.name} | {r.auroc:.3f} | {r.auroc_mixed:.3f} | {100 * acc:.1f}% |")
    out.append("")
    for r in rows[1:]:
        d, lo, hi = paired_bootstrap(
            [r.selection[i] for i in iids], [rows[0].selection[i] for i in iids], 10_000, rng
        )
        out.append(
            f"- {r.name} minus {rows[0].name}: selection accuracy {100 * d:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"
        )
    return out


def rate_lines(result: SettingResult, methods: Sequence[str], seed: int = 0) -> list[str]:
    """Full-pool resolve rate of each method with its bootstrap interval over instances (10,000, 95%)."""
    rng = np.random.default_rng(seed)
    iids = sorted(result.full)
    out = []
    for m in methods:
        v = [result.full[i][m] for i in iids]
        mean, lo, hi = paired_bootstrap(v, [0.0] * len(v), 10_000, rng)
        out.append(f"- {m}: {100 * mean:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]")
    return out

"""Train and cross-validate the execution-free verifier on labeled candidate pools.

Rows are candidates; the label is the candidate's `resolved` field (an extra field of the candidates file, read
here only as the target, never as a feature). Pool features are computed within each instance's pool. With
`augment > 0` every training pool is also featurized on random sub-pools, so the model sees the small-pool feature
distribution met in Best@K at small K. Cross-validation is grouped by instance (no instance in two folds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from patchjury.records import Candidate, Task
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.static_check import StaticChecker
from patchjury.selection.training.bestk import cluster_sum_value, pick_value
from patchjury.selection.verifier.features import FEATURE_NAMES, PoolFeaturizer
from patchjury.selection.verifier.model import VerifierModel, from_sklearn

KINDS = ("logreg", "gbdt")


@dataclass
class Pool:
    """One instance's labeled pool, featurized once."""

    instance_id: str
    featurizer: PoolFeaturizer
    labels: np.ndarray


@dataclass
class CVReport:
    kind: str
    params: dict[str, Any]
    auroc: float
    selection_accuracy: float
    cluster_vote_accuracy: float
    folds: int
    repeats: int
    oof: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": self.params,
            "auroc": round(self.auroc, 4),
            "selection_accuracy": round(self.selection_accuracy, 4),
            "cluster_vote_accuracy": round(self.cluster_vote_accuracy, 4),
            "folds": self.folds,
            "repeats": self.repeats,
        }


def label_of(cand: Candidate) -> bool:
    """The training label (extra field `resolved`); a clear error if missing."""
    extra = cand.model_extra or {}
    if not isinstance(extra.get("resolved"), bool):
        raise CandidateFormatError(
            f"candidate {cand.candidate_id} of {cand.instance_id} has no boolean 'resolved' label: training needs "
            'labeled candidates (add "resolved": true/false to every line)'
        )
    return bool(extra["resolved"])


def build_pools(
    groups: dict[str, list[Candidate]], tasks: dict[str, Task], static: StaticChecker | None = None
) -> list[Pool]:
    """Featurize every labeled pool whose instance has a task (problem statement); `static` supplies the
    static-check features (None: they read "not checked")."""
    missing = sorted(set(groups) - set(tasks))
    if missing:
        raise CandidateFormatError(
            f"{len(missing)} instance(s) of the candidates have no entry in the instances file (e.g. {missing[0]}); "
            "pass the SWE-bench instances file that contains them with --instances"
        )
    return [
        Pool(
            iid,
            PoolFeaturizer(tasks[iid], cands, static.reports(tasks[iid], cands) if static else None),
            np.array([label_of(c) for c in cands], dtype=bool),
        )
        for iid, cands in sorted(groups.items())
    ]


def informative(pools: Sequence[Pool]) -> list[Pool]:
    """Pools with both resolved and unresolved candidates: the only ones where a pick can matter."""
    return [p for p in pools if 0 < int(p.labels.sum()) < len(p.labels)]


def design(
    pools: Sequence[Pool], augment: int, rng: np.random.Generator, mixed_only: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, weight): full pools plus `augment` random sub-pools each; each pool's copies weigh 1 in total.

    `mixed_only` keeps only pools with both labels: within-pool discrimination is what selection needs, while
    all-resolved and all-unresolved pools only teach instance difficulty.
    """
    if mixed_only and informative(pools):
        pools = informative(pools)
    xs, ys, ws = [], [], []
    for pool in pools:
        n = len(pool.labels)
        subs = [np.arange(n)]
        for _ in range(augment if n > 1 else 0):
            subs.append(np.sort(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False)))
        for s in subs:
            xs.append(pool.featurizer.features(s))
            ys.append(pool.labels[s])
            ws.append(np.full(len(s), 1.0 / len(subs)))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def fit(
    kind: str, X: np.ndarray, y: np.ndarray, w: np.ndarray, params: dict[str, Any], seed: int = 0
) -> VerifierModel:
    """Fit one sklearn model and export it to a VerifierModel."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(set(y.tolist())) < 2:
        raise CandidateFormatError(
            "training needs both resolved and unresolved candidates; all labels are equal"
        )
    excluded = params.get("exclude", [])
    unknown = sorted(set(excluded) - set(FEATURE_NAMES))
    if unknown:
        raise CandidateFormatError(
            f"unknown feature(s) to exclude: {', '.join(unknown)}; choose among {', '.join(FEATURE_NAMES)}"
        )
    if excluded:  # a constant-zero column gets weight 0 (logreg) and is never split on (gbdt)
        X = X.copy()
        X[:, [FEATURE_NAMES.index(f) for f in excluded]] = 0.0
    if kind == "logreg":
        est = make_pipeline(StandardScaler(), LogisticRegression(C=params.get("C", 1.0), max_iter=5000))
        est.fit(X, y, logisticregression__sample_weight=w)
    elif kind == "gbdt":
        est = GradientBoostingClassifier(
            n_estimators=params.get("n_estimators", 150),
            max_depth=params.get("max_depth", 3),
            learning_rate=params.get("learning_rate", 0.05),
            subsample=0.8,
            random_state=seed,
        )
        est.fit(X, y, sample_weight=w)
    else:
        raise CandidateFormatError(f"unknown model kind {kind!r}; choose one of {', '.join(KINDS)}")
    model = from_sklearn(est, FEATURE_NAMES, {"kind": kind, "params": params})
    check = np.abs(model.predict_proba(X[:50]) - est.predict_proba(X[:50])[:, 1]).max()
    if check > 1e-6:
        raise RuntimeError(f"exported model disagrees with sklearn by {check:.2e}: export bug")
    return model


def _auroc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan")


def cross_validate(
    pools: Sequence[Pool],
    kind: str,
    params: dict[str, Any],
    folds: int = 5,
    repeats: int = 1,
    augment: int = 0,
    seed: int = 0,
    extra: Sequence[Pool] = (),
) -> CVReport:
    """Grouped K-fold CV (instances shuffled per repeat). `extra` pools only ever join the training side, and
    never when their instance is in the validation fold. Out-of-fold scores are averaged over repeats."""
    rng = np.random.default_rng(seed)
    ids = np.array([p.instance_id for p in pools])
    oof_sum = {p.instance_id: np.zeros(len(p.labels)) for p in pools}
    for r in range(repeats):
        order = np.random.default_rng(seed + r).permutation(len(pools))
        fold_of = np.empty(len(pools), dtype=int)
        fold_of[order] = np.arange(len(pools)) % folds
        for f in range(folds):
            held = set(ids[fold_of == f].tolist())
            train = [p for p in pools if p.instance_id not in held] + [
                p for p in extra if p.instance_id not in held
            ]
            X, y, w = design(train, augment, rng, params.get("pools") == "mixed")
            model = fit(kind, X, y, w, params, seed=seed + r)
            for p in pools:
                if p.instance_id in held:
                    oof_sum[p.instance_id] += model.predict_proba(p.featurizer.features())
    oof = {k: v / repeats for k, v in oof_sum.items()}
    y_all = np.concatenate([p.labels for p in pools])
    p_all = np.concatenate([oof[p.instance_id] for p in pools])
    sel = [pick_value(oof[p.instance_id], p.labels, p.featurizer.valid) for p in pools]
    vote = [cluster_sum_value(p.featurizer.cluster_keys(), oof[p.instance_id], p.labels) for p in pools]
    return CVReport(
        kind=kind,
        params=params,
        auroc=_auroc(y_all, p_all),
        selection_accuracy=float(np.mean(sel)),
        cluster_vote_accuracy=float(np.mean(vote)),
        folds=folds,
        repeats=repeats,
        oof=oof,
    )


def fold_models(
    pools: Sequence[Pool],
    kind: str,
    params: dict[str, Any],
    folds: int,
    augment: int,
    seed: int = 0,
    extra: Sequence[Pool] = (),
) -> dict[str, VerifierModel]:
    """instance_id -> the model trained on the other folds (for out-of-fold scoring of sub-pools in Best@K)."""
    rng = np.random.default_rng(seed)
    order = np.random.default_rng(seed).permutation(len(pools))
    fold_of = np.empty(len(pools), dtype=int)
    fold_of[order] = np.arange(len(pools)) % folds
    out: dict[str, VerifierModel] = {}
    for f in range(folds):
        held = {pools[i].instance_id for i in range(len(pools)) if fold_of[i] == f}
        train = [p for p in pools if p.instance_id not in held] + [
            p for p in extra if p.instance_id not in held
        ]
        X, y, w = design(train, augment, rng, params.get("pools") == "mixed")
        model = fit(kind, X, y, w, params, seed=seed)
        out.update(dict.fromkeys(held, model))
    return out

"""Within-pool ranking models for the verifier: conditional logit (listwise) and pairwise logistic regression.

Both see a training set as groups (one instance's pool, or a random sub-pool of it) and only learn from groups
holding both resolved and unresolved candidates: all-positive and all-negative groups carry no within-pool signal.

- Conditional logit: softmax of the linear score over the group's candidates, maximizing the probability mass
  on the group's resolved candidates (-log sum_{i resolved} softmax(z)_i), L2 penalty `lam` on the weights.
- Pairwise: logistic loss on the score difference of every (resolved, unresolved) pair of a group; each group
  weighs its own weight in total, split over its pairs.

Features are standardized on the training rows. The linear score has no intercept (it cancels within a pool);
`to_verifier_model` exports it as a `logreg` artifact whose score is sigmoid(a * z + b), with (a, b) fitted by a
two-parameter logistic regression of the labels on the ranking score over the training rows (Platt scaling).
This keeps the within-pool order of the ranking model and gives a score in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from patchjury.selection.verifier.model import VerifierModel

Group = tuple[np.ndarray, np.ndarray, float]
"""(X rows of one pool or sub-pool, boolean labels, group weight)."""


@dataclass
class LinearRanker:
    """score(X) = ((X[:, cols] - mean) / scale) @ coef."""

    cols: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(((X[:, self.cols] - self.mean) / self.scale) @ self.coef)


def _mixed(groups: Sequence[Group]) -> list[Group]:
    return [(X, y.astype(bool), w) for X, y, w in groups if 0 < int(np.sum(y)) < len(y)]


def _standardize(groups: Sequence[Group], cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.vstack([g[0][:, cols] for g in groups])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def _check(groups: list[Group]) -> None:
    if not groups:
        raise ValueError(
            "ranking models need at least one pool holding both resolved and unresolved candidates; "
            "add labeled pools where some candidates fail and others pass"
        )


def fit_conditional_logit(groups: Sequence[Group], cols: np.ndarray, lam: float) -> LinearRanker:
    """Listwise model: softmax over each group, trained to put mass on its resolved candidates."""
    mixed = _mixed(groups)
    _check(mixed)
    mean, scale = _standardize(mixed, cols)
    X = (np.vstack([g[0][:, cols] for g in mixed]) - mean) / scale
    y = np.concatenate([g[1] for g in mixed]).astype(float)
    sizes = np.array([len(g[1]) for g in mixed])
    gid = np.repeat(np.arange(len(mixed)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    gw = np.array([g[2] for g in mixed], dtype=float)
    gw = gw / gw.sum()

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = X @ w
        e = np.exp(z - np.maximum.reduceat(z, starts)[gid])
        den, num = np.add.reduceat(e, starts), np.add.reduceat(e * y, starts)
        loss = -float(np.sum(gw * (np.log(num) - np.log(den)))) + 0.5 * lam * float(w @ w)
        grad = X.T @ ((e / den[gid] - e * y / num[gid]) * gw[gid]) + lam * w
        return loss, grad

    res = minimize(objective, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return LinearRanker(np.asarray(cols), mean, scale, np.asarray(res.x))


def fit_pairwise(groups: Sequence[Group], cols: np.ndarray, lam: float) -> LinearRanker:
    """Pairwise model: logistic loss on score(resolved) - score(unresolved) within each group."""
    mixed = _mixed(groups)
    _check(mixed)
    mean, scale = _standardize(mixed, cols)
    diffs, weights = [], []
    for X, y, w in mixed:
        Z = (X[:, cols] - mean) / scale
        d = (Z[y][:, None, :] - Z[~y][None, :, :]).reshape(-1, Z.shape[1])
        diffs.append(d)
        weights.append(np.full(len(d), w / len(d)))
    D = np.vstack(diffs)
    pw = np.concatenate(weights)
    pw = pw / pw.sum()

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = D @ w
        loss = float(np.sum(pw * np.logaddexp(0.0, -z))) + 0.5 * lam * float(w @ w)
        grad = D.T @ (pw * -1.0 / (1.0 + np.exp(np.clip(z, -40, 40)))) + lam * w
        return loss, grad

    res = minimize(objective, np.zeros(D.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    return LinearRanker(np.asarray(cols), mean, scale, np.asarray(res.x))


def platt(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """(a, b) of P(resolved) = sigmoid(a * score + b), a >= 0 so the within-pool order is kept."""
    y = labels.astype(float)
    w = weights / weights.sum()

    def objective(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * scores + ab[1]
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        loss = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)))
        r = w * (p - y)
        return loss, np.array([float(r @ scores), float(r.sum())])

    res = minimize(
        objective, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)]
    )
    return float(res.x[0]), float(res.x[1])


def to_verifier_model(
    ranker: LinearRanker,
    feature_names: list[str],
    calibration: tuple[np.ndarray, np.ndarray, np.ndarray],
    meta: dict[str, Any] | None = None,
) -> VerifierModel:
    """A `logreg` artifact over all `feature_names` (unused columns weigh 0) scoring sigmoid(a * rank + b)."""
    X, y, w = calibration
    a, b = platt(ranker(X), y, w)
    n = len(feature_names)
    mean, scale, coef = np.zeros(n), np.ones(n), np.zeros(n)
    mean[ranker.cols], scale[ranker.cols], coef[ranker.cols] = ranker.mean, ranker.scale, a * ranker.coef
    params = {
        "mean": [float(v) for v in mean],
        "scale": [float(v) for v in scale],
        "coef": [float(v) for v in coef],
        "intercept": b,
    }
    return VerifierModel("logreg", list(feature_names), params, dict(meta or {}))

"""Nested grouped cross-validation of verifier model families (pointwise, listwise, pairwise) and feature sets.

Outer loop: K folds grouped by instance; each outer fold's model family, feature set and regularization are chosen
by an inner grouped CV on the outer training instances only, then refit on them and scored on the held-out
instances. The reported number is the outer-fold selection accuracy (top-scored candidate's label on the full
pool, ties = mean of the tied set), per seed; a seed fixes the fold split and the training sub-pools.

Feature sets:
- `base`: selection.verifier.features.FEATURE_NAMES (what the shipped artifact reads);
- `ext`: base + pool-relative columns (`EXTRA_NAMES`: z-scores within the pool, size rank, similarity to the pool
  medoid, majority file set), evaluated here only (the artifact format reads base features);
- `-proxy` variants drop `PROXY_FEATURES`: patch properties that in the lite pool mostly identify which system
  wrote the patch (see docs/selection-benchmark.md, "What we tried").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from patchjury.selection.training.bestk import pick_value
from patchjury.selection.training.proxies import PROXY_FEATURES as _BASE_PROXIES
from patchjury.selection.training.ranking import Group, LinearRanker, fit_conditional_logit, fit_pairwise
from patchjury.selection.training.train import Pool
from patchjury.selection.verifier.features import FEATURE_NAMES, PoolFeaturizer

Z_FEATURES = [
    "log_added",
    "log_removed",
    "log_files",
    "log_hunks",
    "add_share",
    "file_mentioned_share",
    "issue_idents_in_patch",
    "patch_idents_in_issue",
    "comment_lines_added",
    "new_files",
    "cluster_share",
    "sim_mean",
    "files_overlap_mean",
    "loc_agree_mean",
    "ident_sim_mean",
]
EXTRA_NAMES = [f"z_{f}" for f in Z_FEATURES] + ["size_rank", "medoid_sim", "is_medoid", "files_majority"]
ALL_NAMES = FEATURE_NAMES + EXTRA_NAMES
PROXY_FEATURES = _BASE_PROXIES + tuple(f"z_{f}" for f in _BASE_PROXIES if f in Z_FEATURES)
"""selection.training.proxies.PROXY_FEATURES and their pool z-scores (see scripts/audit_verifier_features.py)."""

Config = tuple[str, str, float]
"""(family: point | clogit | pair, feature set: base | ext | base-proxy | ext-proxy, C or lambda)."""


def pool_relative(feat: PoolFeaturizer, X: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """EXTRA_NAMES columns for the sub-pool `idx` whose base features are X (invalid candidates get 0)."""
    valid = feat.valid[idx]
    out = np.zeros((len(idx), len(EXTRA_NAMES)))
    nv = int(valid.sum())
    if nv == 0:
        return out
    zi = [FEATURE_NAMES.index(f) for f in Z_FEATURES]
    V = X[valid][:, zi]
    mu, sd = V.mean(axis=0), V.std(axis=0)
    ok = sd > 1e-9
    out[:, : len(zi)] = np.where(ok, (X[:, zi] - mu) / np.where(ok, sd, 1.0), 0.0)
    j = len(zi)
    sizes, vs = feat.sizes[idx], feat.sizes[idx][valid]
    below = (sizes[:, None] > vs[None, :]).sum(axis=1)
    ties = (sizes[:, None] == vs[None, :]).sum(axis=1) - 1
    out[:, j] = (below + 0.5 * ties) / max(nv - 1, 1)
    vidx = idx[valid]
    sim = feat.sim[np.ix_(vidx, vidx)].copy()
    np.fill_diagonal(sim, 1.0)
    medoid = vidx[int(np.argmax(sim.sum(axis=1)))]
    out[:, j + 1] = feat.sim[idx, medoid]
    out[:, j + 2] = idx == medoid
    same = feat.files_same[np.ix_(idx, vidx)].copy()
    same[idx[:, None] == vidx[None, :]] = 1.0
    count = same.sum(axis=1)
    out[:, j + 3] = count >= count[valid].max()
    out[~valid] = 0.0
    return out


def all_features(pool: Pool, idx: np.ndarray | None = None) -> np.ndarray:
    """Base + pool-relative features of a (sub-)pool."""
    idx = np.arange(len(pool.labels)) if idx is None else np.asarray(idx, dtype=int)
    X = pool.featurizer.features(idx)
    return np.hstack([X, pool_relative(pool.featurizer, X, idx)])


def columns(feature_set: str) -> np.ndarray:
    names = FEATURE_NAMES if feature_set.startswith("base") else ALL_NAMES
    drop = PROXY_FEATURES if feature_set.endswith("-proxy") else ()
    return np.array([ALL_NAMES.index(n) for n in names if n not in drop])


def default_grid(feature_sets: Sequence[str] = ("base", "ext")) -> list[Config]:
    grid: list[Config] = []
    for fs in feature_sets:
        grid += [("point", fs, 1.0), ("point", fs, 0.1)]
        grid += [("clogit", fs, lam) for lam in (0.3, 1.0, 3.0, 10.0)]
        grid += [("pair", fs, lam) for lam in (0.03, 0.3)]
    return grid


@dataclass
class Data:
    """Full-pool features of every instance plus, per seed, `augment` random sub-pools (as in train.design)."""

    pools: list[Pool]
    augment: int = 4
    full: dict[str, np.ndarray] = field(default_factory=dict)
    _groups: dict[int, dict[str, list[Group]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.full = {p.instance_id: all_features(p) for p in self.pools}

    def groups(self, seed: int) -> dict[str, list[Group]]:
        if seed not in self._groups:
            rng = np.random.default_rng(seed)
            out: dict[str, list[Group]] = {}
            for p in self.pools:
                n = len(p.labels)
                subs = [np.arange(n)] + [
                    np.sort(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False))
                    for _ in range(self.augment if n > 1 else 0)
                ]
                out[p.instance_id] = [(all_features(p, s), p.labels[s], 1.0 / len(subs)) for s in subs]
            self._groups[seed] = out
        return self._groups[seed]


def fit_config(cfg: Config, groups: Sequence[Group]) -> Callable[[np.ndarray], np.ndarray]:
    """Fit one configuration on training groups; returns a scorer of full feature rows."""
    family, feature_set, hp = cfg
    cols = columns(feature_set)
    if family == "clogit":
        return fit_conditional_logit(groups, cols, hp)
    if family == "pair":
        return fit_pairwise(groups, cols, hp)
    from sklearn.linear_model import LogisticRegression

    mixed = list(groups)  # the caller keeps mixed instances only, as the shipped "pools: mixed"
    X = np.vstack([g[0][:, cols] for g in mixed])
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    y = np.concatenate([g[1] for g in mixed])
    w = np.concatenate([np.full(len(g[1]), g[2]) for g in mixed])
    lr = LogisticRegression(C=hp, max_iter=5000).fit((X - mean) / scale, y, sample_weight=w)
    return LinearRanker(cols, mean, scale, lr.coef_[0])


def folds_of(ids: Sequence[str], k: int, seed: int) -> list[list[str]]:
    order = np.random.default_rng(seed).permutation(len(ids))
    fold = np.empty(len(ids), dtype=int)
    fold[order] = np.arange(len(ids)) % k
    return [[ids[j] for j in range(len(ids)) if fold[j] == f] for f in range(k)]


def _train_groups(data: Data, seed: int, ids: Sequence[str]) -> list[Group]:
    groups = data.groups(seed)
    # instance-level filter, as the shipped "pools: mixed" (sub-pools of mixed pools may still be one-sided)
    labels = {p.instance_id: p.labels for p in data.pools}
    return [g for i in ids if 0 < labels[i].sum() < len(labels[i]) for g in groups[i]]


def _accuracy(data: Data, model: Callable[[np.ndarray], np.ndarray], ids: Sequence[str]) -> list[float]:
    by_id = {p.instance_id: p for p in data.pools}
    return [pick_value(model(data.full[i]), by_id[i].labels, by_id[i].featurizer.valid) for i in ids]


@dataclass
class NestedResult:
    seed: int
    accuracy: dict[str, float]
    """Outer-fold selection accuracy per method (fixed configurations by str(config), grids by name)."""
    chosen: dict[str, list[str]]
    """Per grid, the configuration the inner CV chose in each outer fold."""
    models: dict[tuple[str, str], Callable[[np.ndarray], np.ndarray]]
    """(method, instance_id) -> the outer model that never saw that instance."""
    outer_folds: list[tuple[list[str], list[str]]] = field(default_factory=list)
    """(training instances, held-out instances) of every outer fold."""


def nested_cv(
    data: Data,
    grids: dict[str, list[Config]],
    fixed: Sequence[Config],
    seed: int,
    outer: int = 5,
    inner: int = 4,
) -> NestedResult:
    """One seed of nested grouped CV; `fixed` configurations are refit per outer fold without any choice."""
    ids = [p.instance_id for p in data.pools]
    acc: dict[str, list[float]] = {str(c): [] for c in fixed}
    acc.update({g: [] for g in grids})
    chosen: dict[str, list[str]] = {g: [] for g in grids}
    models: dict[tuple[str, str], Callable[[np.ndarray], np.ndarray]] = {}
    record: list[tuple[list[str], list[str]]] = []
    for f, held in enumerate(folds_of(ids, outer, seed)):
        held_set = set(held)
        train = [i for i in ids if i not in held_set]
        record.append((train, list(held)))
        todo: dict[str, Config] = {str(c): c for c in fixed}
        inner_folds = folds_of(train, inner, 1000 + 10 * seed + f)
        for name, grid in grids.items():
            score: dict[Config, list[float]] = {c: [] for c in grid}
            for ival in inner_folds:
                ival_set = set(ival)
                itrain = _train_groups(data, seed, [i for i in train if i not in ival_set])
                for cfg in grid:
                    score[cfg] += _accuracy(data, fit_config(cfg, itrain), ival)
            best = max(grid, key=lambda c: float(np.mean(score[c])))  # ties: first in grid order
            chosen[name].append(str(best))
            todo[name] = best
        groups = _train_groups(data, seed, train)
        for name, cfg in todo.items():
            model = fit_config(cfg, groups)
            acc[name] += _accuracy(data, model, held)
            models.update({(name, i): model for i in held})
    return NestedResult(seed, {k: float(np.mean(v)) for k, v in acc.items()}, chosen, models, record)

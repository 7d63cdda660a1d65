"""Best@K arithmetic for selection benchmarks (execution-free selectors over labeled pools).

For a pool of N labeled candidates and a selector, Best@K is the expected correctness of the selector's pick over
random K-subsets drawn without replacement. When the selector ties, the pick counts as the mean correctness of the
tied set. Subsets are enumerated exactly when C(N, K) <= `max_exact`, otherwise `draws` subsets are sampled.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

# A selector maps (subset indices, labels of that subset) -> value in [0, 1] for that subset.
SubsetScorer = Callable[[np.ndarray], float]


def pick_value(
    scores: Sequence[float] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    eligible: np.ndarray | None = None,
) -> float:
    """Correctness of picking the top-scored candidate; ties -> mean of the tied set; 0 if none eligible."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    if eligible is not None:
        s = np.where(eligible, s, -np.inf)
    if not len(s) or not np.isfinite(s).any():
        return 0.0
    top = s >= np.max(s) - 1e-12
    return float(y[top].mean())


def group_pick_value(
    group_scores: dict[str, float], members: dict[str, list[int]], labels: np.ndarray
) -> float:
    """Correctness of picking the top-scored group (cluster); ties -> mean over members of the tied groups."""
    if not group_scores:
        return 0.0
    best = max(group_scores.values())
    tied = [i for key, v in group_scores.items() if v >= best - 1e-12 for i in members[key]]
    return float(np.asarray(labels, dtype=float)[tied].mean())


def subsets(
    n: int, k: int, draws: int, rng: np.random.Generator, max_exact: int = 2000
) -> Iterator[np.ndarray]:
    """All K-subsets of range(n) when there are at most `max_exact`, else `draws` random ones."""
    if math.comb(n, k) <= max_exact:
        for combo in itertools.combinations(range(n), k):
            yield np.asarray(combo, dtype=int)
        return
    for _ in range(draws):
        yield np.sort(rng.choice(n, size=k, replace=False))


def best_at_k(
    n: int, k: int, value: SubsetScorer, draws: int, rng: np.random.Generator, max_exact: int = 2000
) -> float:
    """Mean of `value(subset)` over K-subsets of an N-pool (K > N counts as K = N)."""
    k = min(k, n)
    vals = [value(s) for s in subsets(n, k, draws, rng, max_exact)]
    return float(np.mean(vals)) if vals else 0.0


def oracle_value(labels: np.ndarray) -> float:
    return float(np.asarray(labels, dtype=bool).any())


def random_value(labels: np.ndarray) -> float:
    return float(np.asarray(labels, dtype=float).mean()) if len(labels) else 0.0


def cluster_members(keys: Sequence[str | None]) -> dict[str, list[int]]:
    """Cluster key -> indices of its members (dropped candidates, key None, belong to none)."""
    members: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            members.setdefault(key, []).append(i)
    return members


def majority_value(keys: Sequence[str | None], labels: np.ndarray) -> float:
    """Majority vote over normalized-patch clusters (dropped candidates, key None, never win)."""
    members = cluster_members(keys)
    return group_pick_value({k: float(len(v)) for k, v in members.items()}, members, labels)


def cluster_sum_value(
    keys: Sequence[str | None], scores: np.ndarray, labels: np.ndarray, power: float = 1.0
) -> float:
    """Pick the cluster with the largest sum of member scores**power (verifier-weighted vote)."""
    members = cluster_members(keys)
    sums = {k: float(np.sum(np.asarray(scores)[v] ** power)) for k, v in members.items()}
    return group_pick_value(sums, members, labels)


def majority_tiebreak_value(keys: Sequence[str | None], scores: np.ndarray, labels: np.ndarray) -> float:
    """Largest cluster wins; ties between equally large clusters go to the one holding the top verifier score."""
    members = cluster_members(keys)
    # scores are probabilities in [0, 1): adding the best one never overturns a difference in cluster size
    value = {k: len(v) + 0.999 * float(np.max(np.asarray(scores)[v])) for k, v in members.items()}
    return group_pick_value(value, members, labels)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], draws: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of a - b over paired items (instances) and its percentile bootstrap interval (items resampled)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not len(d):
        raise ValueError("paired_bootstrap needs at least one pair")
    means = d[rng.integers(0, len(d), size=(draws, len(d)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    return float(d.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))

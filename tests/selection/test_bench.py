"""Best@K arithmetic on a tiny hand-made pool, with exact expected values."""

from __future__ import annotations

import numpy as np
import pytest

from patchjury.selection.training.bestk import (
    best_at_k,
    cluster_sum_value,
    majority_value,
    oracle_value,
    pick_value,
    random_value,
    subsets,
)

# c0 is right (patch A); c1 and c2 are the same wrong patch B; c3 dropped (empty, key None).
Y = np.array([True, False, False, False])
KEYS: list[str | None] = ["A", "B", "B", None]


def _bk(k: int, fn) -> float:  # type: ignore[no-untyped-def]
    return best_at_k(3, k, fn, draws=10, rng=np.random.default_rng(0))


def test_oracle_random_majority_exact() -> None:
    y, keys = Y[:3], KEYS[:3]
    assert [_bk(k, lambda s: oracle_value(y[s])) for k in (1, 2, 3)] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [_bk(k, lambda s: random_value(y[s])) for k in (1, 2, 3)] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    maj = [_bk(k, lambda s: majority_value([keys[i] for i in s], y[s])) for k in (1, 2, 3)]
    assert maj == pytest.approx([1 / 3, (0.5 + 0.5 + 0.0) / 3, 0.0])  # size ties count half


def test_ties_and_dropped_candidates() -> None:
    assert pick_value([0.9, 0.9, 0.1], Y[:3]) == 0.5
    assert pick_value([0.1, 0.2, 0.3, 0.9], Y, eligible=np.array([True, True, True, False])) == 0.0
    assert pick_value([0.9, 0.2, 0.3, 0.1], Y, eligible=np.array([True, True, True, False])) == 1.0
    assert pick_value([0.5], [True], eligible=np.array([False])) == 0.0
    assert majority_value([None, None], np.array([True, False])) == 0.0
    assert majority_value(KEYS, Y) == 0.0  # B (2 votes) beats A; the dropped one never wins


def test_verifier_weighted_cluster_vote() -> None:
    assert cluster_sum_value(KEYS, np.array([0.9, 0.5, 0.5, 1.0]), Y) == 0.0  # B: 1.0 > A: 0.9
    assert cluster_sum_value(KEYS, np.array([0.9, 0.4, 0.4, 1.0]), Y) == 1.0  # A: 0.9 > B: 0.8
    assert cluster_sum_value(KEYS, np.array([0.8, 0.4, 0.4, 0.0]), Y) == pytest.approx(
        1 / 3
    )  # tie: mean of all 3


def test_k_larger_than_pool_uses_whole_pool_and_sampling_path() -> None:
    assert best_at_k(3, 7, lambda s: float(len(s)), draws=5, rng=np.random.default_rng(0)) == 3.0
    drawn = list(subsets(10, 5, draws=7, rng=np.random.default_rng(0), max_exact=10))
    assert len(drawn) == 7 and all(len(set(s.tolist())) == 5 and list(s) == sorted(s) for s in drawn)
    assert len(list(subsets(5, 2, draws=7, rng=np.random.default_rng(0)))) == 10  # exact: C(5,2)


def test_majority_tiebreak_and_paired_bootstrap() -> None:
    from patchjury.selection.training.bestk import majority_tiebreak_value, paired_bootstrap

    # clusters A (c0) and C (c3) tie at one member each once B is absent: the higher verifier score decides
    keys: list[str | None] = ["A", "C"]
    assert majority_tiebreak_value(keys, np.array([0.9, 0.2]), np.array([True, False])) == 1.0
    assert majority_tiebreak_value(keys, np.array([0.1, 0.2]), np.array([True, False])) == 0.0
    assert majority_tiebreak_value(KEYS, np.array([0.9, 0.1, 0.1, 0.0]), Y) == 0.0  # size beats score
    rng = np.random.default_rng(0)
    d, lo, hi = paired_bootstrap([1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], 2000, rng)
    assert d == pytest.approx(0.5) and 0.0 <= lo < d < hi <= 1.0
    assert paired_bootstrap([0.5] * 3, [0.5] * 3, 100, rng) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="at least one pair"):
        paired_bootstrap([], [], 10, rng)

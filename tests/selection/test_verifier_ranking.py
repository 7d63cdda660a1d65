"""Listwise / pairwise ranking models, their artifact export, pool-relative features and nested CV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patchjury.selection.training.nested import (
    EXTRA_NAMES,
    PROXY_FEATURES,
    Data,
    all_features,
    columns,
    folds_of,
    nested_cv,
)
from patchjury.selection.training.ranking import fit_conditional_logit, fit_pairwise, to_verifier_model
from patchjury.selection.verifier.features import FEATURE_NAMES


def _planted(seed: int, n_groups: int = 60) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Pools of 6 where the resolved candidate has the highest x0 + x1 (x2 is noise shared by the pool)."""
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(n_groups):
        X = rng.normal(size=(6, 4))
        X[:, 2] = rng.normal()  # pool-constant: no within-pool signal
        y = np.zeros(6, dtype=bool)
        y[int(np.argmax(X[:, 0] + X[:, 1]))] = True
        groups.append((X, y, 1.0))
    groups.append((rng.normal(size=(5, 4)), np.ones(5, dtype=bool), 1.0))  # one-sided: ignored
    return groups


@pytest.mark.parametrize("fit", [fit_conditional_logit, fit_pairwise])
def test_ranking_models_recover_a_planted_ranking(fit) -> None:  # type: ignore[no-untyped-def]
    cols = np.arange(4)
    model = fit(_planted(0), cols, 0.01)
    assert model.coef[0] > 0.5 and model.coef[1] > 0.5
    assert abs(model.coef[3]) < 0.3 * model.coef[0]
    test = _planted(1)[:-1]
    hits = [bool(y[int(np.argmax(model(X)))]) for X, y, _ in test]
    assert np.mean(hits) > 0.8  # random would be 1/6


def test_ranking_needs_a_mixed_pool() -> None:
    one_sided = [(np.zeros((3, 2)), np.zeros(3, dtype=bool), 1.0)]
    with pytest.raises(ValueError, match="both resolved and unresolved"):
        fit_conditional_logit(one_sided, np.arange(2), 1.0)


def test_export_keeps_order_and_unit_interval() -> None:
    groups = _planted(2)
    names = [f"f{i}" for i in range(6)]
    wide = [(np.hstack([X, np.ones((len(X), 2))]), y, w) for X, y, w in groups]
    ranker = fit_conditional_logit(wide, np.arange(4), 0.1)
    X = np.vstack([g[0] for g in wide])
    y = np.concatenate([g[1] for g in wide])
    model = to_verifier_model(ranker, names, (X, y, np.ones(len(y))))
    p = model.predict_proba(X)
    assert ((p >= 0) & (p <= 1)).all()
    assert np.array_equal(np.argsort(p, kind="stable"), np.argsort(ranker(X), kind="stable"))
    assert model.params["coef"][4:] == [0.0, 0.0]  # unused columns weigh nothing


def _small_pools(shared: Path, n: int):  # type: ignore[no-untyped-def]
    from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
    from patchjury.selection.training.train import build_pools

    groups = group_by_instance(load_candidates(shared / "candidates" / "lite_candidates_train.jsonl.gz"))
    keep = {k: groups[k] for k in sorted(groups)[:n]}
    return build_pools(keep, load_tasks(shared / "swebench" / "lite_test.jsonl.gz"))


def test_pool_relative_features_and_proxy_columns(shared_data: Path) -> None:
    pool = _small_pools(shared_data, 1)[0]
    X = all_features(pool)
    assert X.shape == (len(pool.labels), len(FEATURE_NAMES) + len(EXTRA_NAMES))
    extra = X[:, len(FEATURE_NAMES) :][pool.featurizer.valid]
    assert np.allclose(extra[:, 0].mean(), 0.0)  # z-scores are centered within the pool
    assert extra[:, EXTRA_NAMES.index("is_medoid")].sum() == 1.0
    sub = all_features(pool, np.array([0]))
    assert sub.shape[0] == 1
    names = FEATURE_NAMES + EXTRA_NAMES
    kept = {names[j] for j in columns("ext-proxy")}
    assert not kept & set(PROXY_FEATURES) and "cluster_share" in kept
    assert {names[j] for j in columns("base")} == set(FEATURE_NAMES)


def test_nested_cv_never_scores_an_instance_with_a_model_that_saw_it(shared_data: Path) -> None:
    pools = _small_pools(shared_data, 30)
    data = Data(pools, augment=1)
    grid = [("clogit", "base", 1.0), ("pair", "base", 0.3)]
    res = nested_cv(data, {"g": grid}, [("clogit", "base", 3.0)], seed=0, outer=3, inner=2)
    assert set(res.accuracy) == {"g", str(("clogit", "base", 3.0))}
    assert all(0.0 <= v <= 1.0 for v in res.accuracy.values())
    assert len(res.chosen["g"]) == 3 and set(res.chosen["g"]) <= {str(c) for c in grid}
    ids = [p.instance_id for p in pools]
    folds = folds_of(ids, 3, 0)
    for held in folds:  # one model per outer fold, shared by exactly its held-out instances
        models = {id(res.models[("g", i)]) for i in held}
        assert len(models) == 1
        others = {id(res.models[("g", i)]) for i in ids if i not in held}
        assert not models & others
    assert sorted(i for f in folds for i in f) == sorted(ids)
    for train, held in res.outer_folds:
        assert not set(train) & set(held) and sorted(train + held) == sorted(ids)

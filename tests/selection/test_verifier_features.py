"""Honesty: verifier features never depend on provenance, labels or gold fields."""

from __future__ import annotations

import copy
import inspect
import random

import numpy as np
import pytest
from pydantic import ValidationError

from patchjury.records import Candidate, Task
from patchjury.selection.verifier import features as features_mod
from patchjury.selection.verifier import trajectory as trajectory_mod
from patchjury.selection.verifier.features import FEATURE_NAMES, PoolFeaturizer, featurize
from patchjury.selection.verifier.sklearn_verifier import load_default_verifier

PROVENANCE = ("system", "run", "model", "label_source", "source", "model_name_or_path")
GOLD = {
    "patch": "GOLD PATCH",
    "test_patch": "GOLD TEST",
    "FAIL_TO_PASS": ["t1"],
    "PASS_TO_PASS": ["t2"],
    "eval_script": "bash eval.sh",
}

ISSUE = Task(
    instance_id="o__r-1",
    problem_statement="`parse_value` crashes on empty input in pkg/mod.py\n"
    "Traceback (most recent call last):\n  ValueError",
)


def _diff(new: str, path: str = "pkg/mod.py") -> str:
    return (
        f"--- a/{path}\n+++ b/{path}\n@@ -1,3 +1,3 @@\n def parse_value(x):\n-    return int(x)\n+{new}\n \n"
    )


def _pool() -> list[Candidate]:
    patches = [
        _diff("    return int(x) if x else 0"),
        _diff("    return int(x) if x else 0  # guard"),
        _diff("    return int(x or 0)"),
        "",
        _diff("    return 0", path="pkg/other.py") + _diff("    assert 1", path="tests/test_mod.py"),
    ]
    return [
        Candidate(
            instance_id=ISSUE.instance_id,
            model_patch=p,
            candidate_id=f"c{i}",
            cost=0.1 * i,
            model_name_or_path=f"sys{i}",
            system=f"S{i}",
            run="r1",
            model="m",
            label_source="report",
            source="somewhere",
            resolved=i < 2,
        )
        for i, p in enumerate(patches)
    ]


def _matrix(pool: list[Candidate]) -> np.ndarray:
    return PoolFeaturizer(ISSUE, pool).features()


def test_provenance_label_and_cost_do_not_change_features() -> None:
    base = _matrix(_pool())
    changed = _pool()
    for c in changed:
        for key in (*PROVENANCE, "resolved"):
            setattr(c, key, "x" if key != "resolved" else not getattr(c, key))
        c.cost = 123.0
    assert np.array_equal(base, _matrix(changed))
    stripped = [
        Candidate(instance_id=c.instance_id, model_patch=c.model_patch, candidate_id=c.candidate_id)
        for c in _pool()
    ]
    assert np.array_equal(base, _matrix(stripped))


def test_gold_fields_on_candidates_do_not_change_features_and_tasks_refuse_them() -> None:
    base = _matrix(_pool())
    with_gold = [Candidate(**c.model_dump(), **GOLD) for c in _pool()]
    assert np.array_equal(base, _matrix(with_gold))
    with pytest.raises(ValidationError):
        Task(instance_id="x", problem_statement="y", **GOLD)  # type: ignore[arg-type]


def test_verifier_scores_ignore_provenance() -> None:
    verifier = load_default_verifier()
    pool = _pool()
    scores = verifier.score_pool(ISSUE, pool)
    shuffled = copy.deepcopy(pool)
    names = [c.model_name_or_path for c in shuffled]
    random.Random(0).shuffle(names)
    for c, n in zip(shuffled, names, strict=True):
        c.model_name_or_path = n
        c.system = "other"  # type: ignore[attr-defined]
    assert verifier.score_pool(ISSUE, shuffled) == scores
    assert [verifier.score(ISSUE, c, shuffled) for c in shuffled] == scores


def test_feature_code_reads_no_extra_fields() -> None:
    """Static guard: the feature code never touches extras (where provenance and labels live) or provenance."""
    for mod in (features_mod, trajectory_mod):
        src = inspect.getsource(mod)
        for banned in (
            "model_extra",
            "model_name_or_path",
            "resolved",
            ".cost",
            "getattr(cand",
            "model_dump",
        ):
            assert banned not in src, f"{mod.__name__} mentions {banned!r}"


def test_featurize_names_and_pool_features() -> None:
    pool = _pool()
    feats = featurize(ISSUE, pool[0], pool)
    assert list(feats) == FEATURE_NAMES
    assert feats["cluster_share"] == pytest.approx(2 / 4)  # c0 and c1 are one cluster of 4 valid candidates
    assert feats["valid"] == 1.0 and feats["any_file_mentioned"] == 1.0
    empty = featurize(ISSUE, pool[3], pool)
    assert empty["valid"] == 0.0 and empty["cluster_share"] == 0.0
    odd = featurize(ISSUE, pool[4], pool)
    assert odd["raw_touches_tests"] == 1.0 and odd["cluster_share"] == pytest.approx(1 / 4)
    alone = featurize(ISSUE, pool[2])
    assert alone["cluster_share"] == 1.0 and alone["sim_mean"] == 0.0


def test_real_pool_features_ignore_shuffled_provenance(shared_data) -> None:  # type: ignore[no-untyped-def]
    from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks

    groups = group_by_instance(load_candidates(shared_data / "candidates" / "lite_candidates_train.jsonl.gz"))
    tasks = load_tasks(shared_data / "swebench" / "lite_test.jsonl.gz")
    rng = random.Random(1)
    for iid in sorted(groups)[:6]:
        pool = groups[iid]
        base = PoolFeaturizer(tasks[iid], pool).features()
        shuffled = copy.deepcopy(pool)
        extras = [dict(c.model_extra or {}) for c in shuffled]
        rng.shuffle(extras)
        for c, extra in zip(shuffled, extras, strict=True):
            for key, value in extra.items():
                setattr(c, key, value)  # provenance, labels and empty_patch move to other candidates
            for key, value in GOLD.items():
                setattr(c, key, value)
        assert np.array_equal(base, PoolFeaturizer(tasks[iid], shuffled).features())

"""The shipped artifact, sklearn export round trip, and training end to end on a small real subset."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from patchjury.records import Candidate, Task
from patchjury.selection.protocol import Verifier
from patchjury.selection.training.run import run_training
from patchjury.selection.training.train import design, fit
from patchjury.selection.verifier.config import VerifierConfig, build_verifier
from patchjury.selection.verifier.features import FEATURE_NAMES
from patchjury.selection.verifier.model import VerifierModel
from patchjury.selection.verifier.sklearn_verifier import default_artifact_path, load_default_verifier


def test_default_artifact_loads_scores_in_unit_interval_and_is_small() -> None:
    path = default_artifact_path()
    assert path.stat().st_size < 200_000
    assert (path.parent / "MODEL_CARD.md").is_file()
    verifier = load_default_verifier()
    assert isinstance(verifier, Verifier)
    assert set(verifier.model.feature_names) <= set(FEATURE_NAMES)
    task = Task(instance_id="i", problem_statement="`foo` returns None for empty lists")
    diff = (
        "--- a/p/m.py\n+++ b/p/m.py\n@@ -1,2 +1,2 @@\n def foo(x):\n-    return None\n+    return x or []\n"
    )
    pool = [Candidate(instance_id="i", model_patch=diff), Candidate(instance_id="i", model_patch="")]
    scores = [verifier.score(task, c, pool) for c in pool]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > scores[1]  # an empty patch never beats a real one
    assert isinstance(build_verifier(VerifierConfig()), type(verifier))


def test_verifier_backends_by_name() -> None:
    """One name -> factory map; an unknown type is refused when the config is read, naming the choices."""
    from pydantic import ValidationError

    from patchjury.selection.verifier.config import BACKENDS
    from patchjury.selection.verifier.judge import LLMJudge
    from patchjury.selection.verifier.sklearn_verifier import ConstantVerifier, SklearnVerifier

    assert list(BACKENDS) == ["sklearn", "judge", "none"]
    built = {name: type(build_verifier(VerifierConfig(type=name))) for name in BACKENDS}
    assert built == {"sklearn": SklearnVerifier, "judge": LLMJudge, "none": ConstantVerifier}
    with pytest.raises(
        ValidationError, match="unknown verifier type 'gpt': choose one of sklearn, judge, none"
    ):
        VerifierConfig(type="gpt")


def test_artifact_columns_are_matched_by_name_and_unknown_features_are_refused() -> None:
    from patchjury.selection.errors import SelectionConfigError
    from patchjury.selection.verifier.sklearn_verifier import SklearnVerifier

    shipped = load_default_verifier().model
    # the same model with its columns in reverse order scores identically: columns are looked up by name
    flipped = VerifierModel(
        shipped.kind,
        shipped.feature_names[::-1],
        {
            **shipped.params,
            **{k: list(reversed(v)) for k, v in shipped.params.items() if k in ("coef", "mean", "scale")},
        },
        shipped.meta,
    )
    task = Task(instance_id="i", problem_statement="`foo` returns None")
    diff = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = None\n+x = []\n"
    pool = [Candidate(instance_id="i", model_patch=diff), Candidate(instance_id="i", model_patch="")]
    a = SklearnVerifier(shipped).score_pool(task, pool)
    assert np.allclose(a, SklearnVerifier(flipped).score_pool(task, pool))
    bogus = VerifierModel(shipped.kind, [*shipped.feature_names[:-1], "no_such_feature"], shipped.params, {})
    with pytest.raises(SelectionConfigError, match=r"no_such_feature.*patchjury verifier train"):
        SklearnVerifier(bogus)


def test_json_export_matches_sklearn_for_both_kinds(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, len(FEATURE_NAMES)))
    y = (X[:, 1] + 0.5 * X[:, 30] + rng.normal(size=200) > 0).astype(bool)
    w = np.ones(200)
    for kind, params in (("logreg", {"C": 1.0}), ("gbdt", {"n_estimators": 20, "max_depth": 2})):
        model = fit(kind, X, y, w, params)  # fit() itself asserts agreement with sklearn on 50 rows
        model.save(tmp_path / f"{kind}.json")
        again = VerifierModel.load(tmp_path / f"{kind}.json")
        assert np.allclose(again.predict_proba(X), model.predict_proba(X))


def _subset(shared: Path, tmp_path: Path, n_instances: int) -> Path:
    with gzip.open(shared / "candidates" / "lite_candidates_train.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    keep = sorted({r["instance_id"] for r in rows})[:n_instances]
    out = tmp_path / "small.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows if r["instance_id"] in keep))
    return out


@pytest.mark.slow
def test_training_on_a_small_subset_end_to_end(shared_data: Path, tmp_path: Path) -> None:
    small = _subset(shared_data, tmp_path, 24)
    inst = shared_data / "swebench" / "lite_test.jsonl.gz"
    logs: list[str] = []
    result = run_training(
        small, [inst], tmp_path / "art", kinds=["logreg"], folds=3, repeats=1, augment=1, log=logs.append
    )
    assert result.n_instances == 24 and 0.0 <= result.chosen.selection_accuracy <= 1.0
    assert 0.0 <= result.chosen.auroc <= 1.0
    assert any("AUROC" in line for line in logs)
    model = VerifierModel.load(tmp_path / "art" / "verifier-v2.json")
    assert model.meta["training_data"]["n_instances"] == 24
    from patchjury.selection.training.proxies import PROXY_FEATURES

    assert model.meta["excluded_features"] == sorted(PROXY_FEATURES)  # proxy-free by default
    card = (tmp_path / "art" / "MODEL_CARD.md").read_text()
    assert "grouped by instance" in card and "AUROC" in card


@pytest.mark.slow
def test_cli_train_and_export_sft(shared_data: Path, tmp_path: Path) -> None:
    from patchjury.cli import app

    small = _subset(shared_data, tmp_path, 9)
    inst = str(shared_data / "swebench" / "lite_test.jsonl.gz")
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "verifier",
            "train",
            "--candidates",
            str(small),
            "--instances",
            inst,
            "--out",
            str(tmp_path / "m"),
            "--kind",
            "logreg",
            "--folds",
            "3",
            "--repeats",
            "1",
            "--augment",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "selection accuracy" in res.output and (tmp_path / "m" / "verifier-v2.json").is_file()
    out = tmp_path / "sft.jsonl"
    res = runner.invoke(
        app, ["verifier", "export-sft", "--candidates", str(small), "--instances", inst, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines and "wrote" in res.output
    first = lines[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]
    assert (
        first["messages"][-1]["content"] in ("YES", "NO")
        and first["label"] == first["messages"][-1]["content"]
    )


def test_training_refuses_unlabeled_data(tmp_path: Path, shared_data: Path) -> None:
    from patchjury.selection.errors import CandidateFormatError

    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps({"instance_id": "astropy__astropy-12907", "model_patch": ""}) + "\n")
    with pytest.raises(CandidateFormatError, match="resolved"):
        run_training(
            path, [shared_data / "swebench" / "lite_test.jsonl.gz"], tmp_path / "o", kinds=["logreg"]
        )


def test_design_weights_each_pool_once() -> None:
    from patchjury.selection.training.train import Pool
    from patchjury.selection.verifier.features import PoolFeaturizer

    task = Task(instance_id="i", problem_statement="x")
    cands = [
        Candidate(instance_id="i", model_patch=f"--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a\n+b{i}\n")
        for i in range(4)
    ]
    pool = Pool("i", PoolFeaturizer(task, cands), np.array([True, False, False, False]))
    X, y, w = design([pool], augment=3, rng=np.random.default_rng(1))
    assert X.shape[1] == len(FEATURE_NAMES) and len(X) == len(y) == len(w)
    # each copy's rows weigh 1/(1+augment): total weight = average copy size
    assert w.sum() == pytest.approx(len(y) / 4)


def test_mixed_only_design_keeps_pools_with_both_labels() -> None:
    from patchjury.selection.training.train import Pool, informative
    from patchjury.selection.verifier.features import PoolFeaturizer

    task = Task(instance_id="i", problem_statement="x")
    cands = [
        Candidate(instance_id="i", model_patch=f"--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a\n+b{i}\n")
        for i in range(3)
    ]
    feat = PoolFeaturizer(task, cands)
    mixed = Pool("m", feat, np.array([True, False, False]))
    all_bad = Pool("z", feat, np.array([False, False, False]))
    assert informative([mixed, all_bad]) == [mixed]
    X, y, _ = design([mixed, all_bad], augment=0, rng=np.random.default_rng(0), mixed_only=True)
    assert len(X) == 3 and y.tolist() == [True, False, False]
    X, _, _ = design([mixed, all_bad], augment=0, rng=np.random.default_rng(0))
    assert len(X) == 6


def test_excluded_features_get_no_weight_for_both_kinds() -> None:
    from patchjury.selection.errors import CandidateFormatError

    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, len(FEATURE_NAMES)))
    j = FEATURE_NAMES.index("raw_touches_tests")
    y = (X[:, j] + 0.3 * rng.normal(size=200) > 0).astype(bool)  # the excluded feature is the only signal
    w = np.ones(200)
    lr = fit("logreg", X, y, w, {"C": 1.0, "exclude": ["raw_touches_tests"]})
    assert lr.params["coef"][j] == 0.0
    gb = fit("gbdt", X, y, w, {"n_estimators": 10, "max_depth": 2, "exclude": ["raw_touches_tests"]})
    assert all(j not in t["feature"] for t in gb.params["trees"])
    moved = X.copy()
    moved[:, j] = -moved[:, j]
    assert np.allclose(lr.predict_proba(moved), lr.predict_proba(X))
    assert np.allclose(gb.predict_proba(moved), gb.predict_proba(X))
    with pytest.raises(CandidateFormatError, match="unknown feature"):
        fit("logreg", X, y, w, {"C": 1.0, "exclude": ["system_name"]})


def test_shipped_artifact_gives_no_weight_to_system_proxy_features() -> None:
    """The default verifier must not use any feature that identifies the producing system (honesty rule)."""
    from patchjury.selection.training.proxies import PROXY_FEATURES

    model = load_default_verifier().model
    assert default_artifact_path().name == "verifier-v2.json"
    assert set(PROXY_FEATURES) <= set(model.feature_names)
    assert set(PROXY_FEATURES) <= set(model.meta["excluded_features"])
    cols = [model.feature_names.index(f) for f in PROXY_FEATURES]
    if model.kind == "logreg":
        assert all(model.params["coef"][j] == 0.0 for j in cols)
    else:
        used = {
            f
            for t in model.params["trees"]
            for f, left in zip(t["feature"], t["left"], strict=True)
            if left >= 0
        }
        assert not used & set(cols)
    # behavioural check: changing only the proxy columns never changes a score
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, len(model.feature_names)))
    X2 = X.copy()
    X2[:, cols] = rng.normal(size=(20, len(cols))) * 5
    assert np.array_equal(model.predict_proba(X), model.predict_proba(X2))


def test_proxy_rule_matches_the_constant() -> None:
    from patchjury.selection.training.proxies import is_proxy

    assert is_proxy(0.83, 0.53) and is_proxy(0.65, 0.50)
    assert not is_proxy(0.64, 0.54) and not is_proxy(0.70, 0.74)


@pytest.mark.slow
def test_cli_train_all_features_uses_the_proxies_and_rejects_a_contradiction(
    shared_data: Path, tmp_path: Path
) -> None:
    from patchjury.cli import app

    small = _subset(shared_data, tmp_path, 9)
    inst = str(shared_data / "swebench" / "lite_test.jsonl.gz")
    common = ["verifier", "train", "--candidates", str(small), "--instances", inst, "--kind", "logreg"]
    fast = ["--folds", "3", "--repeats", "1", "--augment", "0"]
    runner = CliRunner()
    res = runner.invoke(app, [*common, "--out", str(tmp_path / "all"), *fast, "--all-features"])
    assert res.exit_code == 0, res.output
    assert VerifierModel.load(tmp_path / "all" / "verifier-v2.json").meta["excluded_features"] == []
    res = runner.invoke(
        app, [*common, "--out", str(tmp_path / "x"), "--all-features", "--exclude-feature", "valid"]
    )
    assert res.exit_code != 0 and "contradict" in res.output
    assert not (tmp_path / "x").exists()

"""Fitting the `learned` rule's weights on labeled pools, its out-of-fold check, and `patchjury verifier fit-weights`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchjury.cli import app
from patchjury.core.config import build_config
from patchjury.selection.config import LearnedWeights, SelectionConfig
from patchjury.selection.errors import CandidateFormatError, SelectionConfigError
from patchjury.selection.pipeline import prediction_row
from patchjury.selection.selectors import Learned, Signals, build_decision, make_rule
from patchjury.selection.training.weights import (
    fit_weights,
    grouped_cv,
    load_labeled_pools,
    pick_accuracy,
    signals_from_evidence,
)


def _pool(n: int, minority_right: bool) -> tuple[str, list[Signals], list[bool]]:
    """Four candidates: c0 alone in its cluster, c1-c3 one cluster; every other signal is flat. The lone c0 is
    the resolved one when `minority_right`, otherwise the cluster is."""
    sig = [Signals("c0", cluster=0, cluster_size=1, verifier_score=0.5, regression_failures=0)]
    sig += [
        Signals(f"c{i}", cluster=1, cluster_size=3, verifier_score=0.5, regression_failures=0)
        for i in (1, 2, 3)
    ]
    labels = [minority_right] + [not minority_right] * 3
    return f"inst-{n}", sig, labels


def test_fitted_weights_learn_what_the_priors_get_wrong() -> None:
    # on this data agreement is a bad sign: the shipped priors (cluster +1.5) pick the wrong cluster every time
    pools = [_pool(n, minority_right=True) for n in range(10)]
    weights = fit_weights(pools)
    assert weights.cluster < 0
    report = grouped_cv(pools, folds=5)
    assert report.fitted == 1.0 and report.prior == 0.0
    assert report.staged == 0.0  # staged prefers the larger cluster too
    assert report.folds == 5 and report.pools == 10 and len(report.per_fold) == 5


def test_no_pool_with_differing_labels_is_a_clear_error() -> None:
    same = [("i", [Signals("c0", cluster=0, cluster_size=1)], [True])]
    with pytest.raises(SelectionConfigError, match="nothing to learn"):
        fit_weights(same)
    with pytest.raises(SelectionConfigError, match="at least 2 pools"):
        grouped_cv([_pool(0, True), *same])


def test_pick_accuracy_counts_ties_as_the_mean() -> None:
    _, sig, labels = _pool(0, minority_right=False)
    flat = Learned(LearnedWeights(bias=0, votes=0, regression=0, cluster=0, verifier=0))
    # all four tie on the flat score; the rule itself then prefers the larger cluster (c1-c3, all resolved)
    assert pick_accuracy(flat, sig, labels) == 1.0
    pairs = [Signals(f"c{i}", cluster=i // 2, cluster_size=2) for i in range(4)]
    assert pick_accuracy(flat, pairs, [True, True, False, True]) == pytest.approx(0.75)  # all four tie
    assert pick_accuracy(Learned(LearnedWeights()), sig, labels) == 1.0
    staged = make_rule(SelectionConfig(selector="staged"))
    assert pick_accuracy(staged, sig, labels) == 1.0  # c1-c3 tie: all resolved


def _write_select_output(path: Path, pools: list[tuple[str, list[Signals], list[bool]]]) -> None:
    rule = make_rule(SelectionConfig(selector="staged"))
    with path.open("w") as fh:
        for iid, sig, _ in pools:
            decision = build_decision(
                iid, "staged", sig, rule.decide(sig), {s.candidate_id: "p" for s in sig}
            )
            fh.write(json.dumps(prediction_row(decision, "patchjury")) + "\n")


def test_load_labeled_pools_round_trips_select_output(tmp_path: Path) -> None:
    _, sig, _ = _pool(0, True)
    sig[0].repro_pass, sig[0].repro_total, sig[0].distinguishing_pass = 1, 2, 1
    back = signals_from_evidence(sig[0].to_evidence())
    assert (back.repro_pass, back.repro_total, back.distinguishing_pass) == (1, 2, 1)
    assert (back.cluster_size, back.regression_failures, back.verifier_score) == (1, 0, 0.5)

    pools = [_pool(n, True) for n in range(3)]
    preds, labels = tmp_path / "preds.jsonl", tmp_path / "labels.jsonl"
    _write_select_output(preds, pools)
    rows = [
        {"instance_id": iid, "candidate_id": s.candidate_id, "resolved": y, "model_patch": "ignored"}
        for iid, sig, ys in pools
        for s, y in zip(sig, ys, strict=True)
        if (iid, s.candidate_id) != ("inst-2", "c3")
    ]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got, skipped = load_labeled_pools(preds, labels)
    assert [iid for iid, _, _ in got] == ["inst-0", "inst-1"]
    assert skipped == ["inst-2: no label for c3"]
    assert got[0][2] == [True, False, False, False]

    labels.write_text('{"instance_id": "inst-0", "resolved": true}\n')
    with pytest.raises(CandidateFormatError, match="missing 'candidate_id'"):
        load_labeled_pools(preds, labels)
    labels.write_text('{"instance_id": "inst-0", "candidate_id": "c0", "resolved": true}\n')
    preds.write_text('{"instance_id": "inst-0", "scores": {"c0": {"bogus": 1}}}\n')
    with pytest.raises(CandidateFormatError, match="not per-candidate evidence"):
        load_labeled_pools(preds, labels)


def test_cli_fit_weights_writes_a_config_select_can_use(tmp_path: Path) -> None:
    pools = [_pool(n, minority_right=n % 5 != 0) for n in range(10)]
    preds, labels, out = tmp_path / "preds.jsonl", tmp_path / "labels.jsonl", tmp_path / "w" / "learned.yaml"
    _write_select_output(preds, pools)
    labels.write_text(
        "".join(
            json.dumps({"instance_id": iid, "candidate_id": s.candidate_id, "resolved": y}) + "\n"
            for iid, sig, ys in pools
            for s, y in zip(sig, ys, strict=True)
        )
    )
    args = [
        "verifier",
        "fit-weights",
        "--predictions",
        str(preds),
        "--labels",
        str(labels),
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "out-of-fold pick accuracy on 10 pools" in res.output and "learned, fitted weights" in res.output
    cfg = build_config(SelectionConfig, [str(out)])
    assert cfg.selector == "learned" and cfg.learned.cluster < 0
    missing = CliRunner().invoke(app, [*args[:3], str(tmp_path / "nope.jsonl"), *args[4:]])
    assert missing.exit_code != 0 and "does not exist" in (missing.output + str(missing.exception))

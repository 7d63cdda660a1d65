"""Saved evidence replayed on subsets of a pool: only the submitted candidates' tests exist, agreement and authorship
count only them, and the rules see what the live pipeline would have shown them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from patchjury.records import Candidate, Task
from patchjury.selection.config import SelectionConfig
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.outputs import observe
from patchjury.selection.selectors import make_rule
from patchjury.selection.training.bench import (
    EXECUTION,
    MAJORITY,
    OURS,
    OURS_NO_EXEC,
    OURS_NO_VOTE,
    R2E,
    Case,
    Replay,
    complete_regression,
)
from patchjury.selection.training.evidence import evidence_stats, load_evidence, subset_signals
from patchjury.selection.verifier.features import FEATURE_NAMES, PoolFeaturizer
from patchjury.selection.verifier.model import VerifierModel


def _cell(subject: str, test: str, out: str, code: int = 0) -> dict:
    seen = observe(out, code, False)
    return {
        "subject": subject,
        "test_id": test,
        "status": "pass" if code == 0 else ("fail" if code == 2 else "error"),
        "exit_code": code,
        "duration": 0.1,
        "tail": out,
        "timed_out": False,
        "digest": seen.digest,
        "excerpt": seen.excerpt,
        "exception": seen.exception,
        "marker": seen.marker,
        "truncated": False,
        "note": "",
    }


def _record() -> dict:
    """c0, c1: the same fix (one cluster, subject c0); c2 another fix printing the same; c3 wrong; c4 empty.
    Tests: t_c2 (by c2, prints), t_c3 (by c3, prints)."""
    outs = {"original": "[x**3]", "c0": "[x, x**3]", "c2": "[x, x**3]", "c3": "[x**3, 0]"}
    cells = [_cell(s, t, o) for s, o in outs.items() for t in ("c2/r.py", "c3/r.py")]
    cands = [
        {"key": "c0", "patch_sha1": "a", "cluster": 0, "subject": "c0", "dropped": None},
        {"key": "c1", "patch_sha1": "a", "cluster": 0, "subject": "c0", "dropped": None},
        {"key": "c2", "patch_sha1": "b", "cluster": 1, "subject": "c2", "dropped": None},
        {"key": "c3", "patch_sha1": "c", "cluster": 2, "subject": "c3", "dropped": None},
        {"key": "c4", "patch_sha1": "d", "cluster": -1, "subject": None, "dropped": "empty patch"},
    ]
    tests = [
        {"test_id": "c2/r.py", "authors": ["c2"], "origin": "candidate"},
        {"test_id": "c3/r.py", "authors": ["c3"], "origin": "candidate"},
    ]
    return {
        "instance_id": "i",
        "format": "patchjury-evidence/1",
        "candidates": cands,
        "matrix": {"tests": tests, "subjects": list(outs), "cells": cells, "apply_failures": {}},
        "regression": {"files": ["t.py"], "baseline_passing": 5, "failures": {"c0": 0, "c2": 0, "c3": 2}},
        "container_s": 120.0,
    }


def test_subsets_see_only_their_tests_and_agreement(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(
            json.dumps(_record()) + "\n" + json.dumps({"instance_id": "j", "error": "no environment"}) + "\n"
        )
    ev = load_evidence([path])
    assert list(ev) == ["i"] and ev["i"].container_s == 120.0
    full = {s.candidate_id: s for s in subset_signals(ev["i"], ["c0", "c1", "c2", "c3", "c4"])}
    # both tests informative; c0's cluster (2) and c2 agree on both: 2 other candidates each for c0/c1, 2 for c2
    assert (full["c0"].behaviour, full["c2"].behaviour, full["c3"].behaviour) == (4.0, 4.0, 0.0)
    assert full["c0"].cluster_size == 2 and full["c4"].dropped == "empty patch"
    assert full["c3"].regression_failures == 2 and full["c3"].regression_total == 5
    # behaviour classes: c0's cluster and c2 respond alike on every informative test, c3 on its own
    klass = {k: full[k].behaviour_class for k in ("c0", "c1", "c2", "c3", "c4")}
    assert klass["c0"] == klass["c1"] == klass["c2"] == 0 and klass["c3"] == 1 and klass["c4"] is None
    # without c2 and c3 nobody carries a test: no behaviour evidence at all
    alone = subset_signals(ev["i"], ["c0", "c1"])
    assert all(s.behaviour is None and s.behaviour_class is None for s in alone)
    # c0 with c3: only c3's test exists; c0 alone in its new output, c3 alone in its own: no agreement either way
    pair = {s.candidate_id: s for s in subset_signals(ev["i"], ["c0", "c3"])}
    assert (pair["c0"].behaviour, pair["c3"].behaviour) == (0.0, 0.0)
    # counts measured by an earlier run (same cluster) fill in where this evidence has none
    ev["i"].regression.pop("c2")
    earlier = {s.candidate_id: s for s in subset_signals(ev["i"], ["c1", "c2"], regression={"c2": 1})}
    assert (earlier["c1"].regression_failures, earlier["c2"].regression_failures) == (0, 1)
    staged = make_rule(SelectionConfig(selector="staged")).decide(subset_signals(ev["i"], ["c2", "c3", "c0"]))
    assert staged.winner in ("c0", "c2")


def test_bench_replay_values(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_text(json.dumps(_record()) + "\n")
    ev = load_evidence([path])["i"]
    patches = {
        "c0": "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
        "c2": "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 3\n",
        "c3": "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 4\n",
    }
    keys = ["c0", "c1", "c2", "c3", "c4"]
    cands = [
        Candidate(
            instance_id="i", candidate_id=k, model_patch=patches.get(k, patches["c0"] if k == "c1" else "")
        )
        for k in keys
    ]
    feat = PoolFeaturizer(Task(instance_id="i", problem_statement="p"), cands)
    case = Case("i", keys, np.array([True, True, True, False, False]), feat, ev)
    flat = VerifierModel(
        "logreg",
        FEATURE_NAMES,
        {
            "mean": [0.0] * len(FEATURE_NAMES),
            "scale": [1.0] * len(FEATURE_NAMES),
            "coef": [0.0] * len(FEATURE_NAMES),
            "intercept": 0.0,
        },
    )
    replay = Replay(case, flat, list(range(len(FEATURE_NAMES))), np.random.default_rng(0))
    everyone = np.arange(5)
    for method in (MAJORITY, EXECUTION, R2E, OURS, OURS_NO_VOTE, OURS_NO_EXEC):
        assert replay.value(method, everyone) == 1.0, method
    # c2 and c3 each carry only their own test: the vote cannot tell them apart, regression can
    assert replay.value(EXECUTION, np.array([2, 3])) == 1.0
    assert replay.value(MAJORITY, np.array([2, 3])) == 0.5  # two clusters of one: a coin toss
    # c1 against c3: the staged rule reads c3's regression failures; without execution evidence (flat verifier,
    # two clusters of one) the pick depends on the random candidate ids only
    pair = np.array([1, 3])
    replays = [
        Replay(case, flat, list(range(len(FEATURE_NAMES))), np.random.default_rng(i)) for i in range(12)
    ]
    assert [r.value(OURS, pair) for r in replays] == [1.0] * 12
    assert 0.0 < np.mean([r.value(OURS_NO_EXEC, pair) for r in replays]) < 1.0


def test_evidence_stats_count_tests_by_origin(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_text(json.dumps(_record()) + "\n")
    st = evidence_stats(load_evidence([path]))
    assert (st.instances, st.candidates, st.subjects, st.cells, st.instances_informative) == (1, 5, 3, 8, 1)
    assert (
        st.tests == {"candidate": 2}
        and st.exit_code == {"candidate": 0}
        and st.informative == {"candidate": 2}
    )


def test_bad_evidence_lines_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_text('{"instance_id": "i", "format": "other"}\n')
    with pytest.raises(CandidateFormatError, match=r"ev\.jsonl:1: not a patchjury-evidence/1 record"):
        load_evidence([path])


def test_replay_uses_regression_only_when_every_contender_was_measured(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    path.write_text(json.dumps(_record()) + "\n")
    ev = load_evidence([path])["i"]
    rule = make_rule(SelectionConfig(selector="staged"))
    measured = subset_signals(ev, ["c0", "c3"])
    assert complete_regression(measured, rule) == measured
    ev.regression.pop(
        "c0"
    )  # c0's cluster not measured: c3's 2 failures must not make c0 lose or win by default
    partial = complete_regression(subset_signals(ev, ["c0", "c3"]), rule)
    assert all(s.regression_failures is None for s in partial)


def test_separability_of_the_resolved_candidates(tmp_path: Path) -> None:
    """Which pools any reader of the execution evidence could get right: c0/c1 (one cluster) and c2 print the
    same, c3 prints something else and fails 2 regression tests; c4 is empty."""
    from patchjury.selection.training.evidence import (
        ALIKE,
        NO_SURVIVOR,
        NOT_INFORMATIVE,
        SEPARATES,
        separability,
    )

    path = tmp_path / "ev.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(_record()) + "\n")
    ev = load_evidence([path])["i"]
    keys = ["c0", "c1", "c2", "c3", "c4"]
    assert separability(ev, keys, [True, True, True, False, False]) == SEPARATES
    assert separability(ev, keys, [False, False, False, True, False]) == SEPARATES  # c3 differs from all
    # c2 resolved, c0/c1 not: same output on every test and the same regression count: nothing tells them apart
    assert separability(ev, keys, [False, False, True, False, False]) == ALIKE
    assert separability(ev, keys, [False, False, False, False, True]) == NO_SURVIVOR  # only the empty one
    # regression counts alone separate when the outputs do not
    ev.regression["c2"] = 1
    assert separability(ev, keys, [False, False, True, False, False]) == SEPARATES
    # no test moves from the original: not informative
    for subject, test in list(ev.runs):
        ev.runs[(subject, test)] = ev.runs[("original", test)]
    ev.regression = {"c0": 0, "c2": 0, "c3": 0}
    assert separability(ev, keys, [True, False, False, False, False]) == NOT_INFORMATIVE

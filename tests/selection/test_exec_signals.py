"""Saved execution signals: merging files, rebuilding a subset's signals, and the rules running on them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from patchjury.selection.config import RegressionConfig, SelectionConfig
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.patch_parse import patch_sha1
from patchjury.selection.regression import parse_results
from patchjury.selection.selectors import make_rule
from patchjury.selection.training.replay import (
    ExecEntry,
    execution_only_value,
    load_exec_signals,
    subset_signals,
)


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_files_merge_per_candidate_and_failed_instances_are_left_out(tmp_path: Path) -> None:
    a, b = patch_sha1("patch A"), patch_sha1("patch B")
    reg = _write(
        tmp_path / "reg.jsonl",
        [
            {
                "instance_id": "x-1",
                "signals": "regression",
                "candidates": [
                    {"patch_sha1": a, "regression_failures": 0, "regression_total": 10, "kept_pass": []},
                    {"patch_sha1": b, "regression_failures": 3, "regression_total": 10, "kept_pass": []},
                ],
            },
            {"instance_id": "x-2", "signals": "regression", "error": "no environment: mirror lacks blobs"},
        ],
    )
    rep = _write(
        tmp_path / "repro.jsonl",
        [
            {
                "instance_id": "x-1",
                "signals": "repro",
                "candidates": [
                    {"patch_sha1": a, "kept_pass": [True, False], "regression_failures": None},
                    {"patch_sha1": b, "kept_pass": [False, False], "regression_failures": None},
                ],
            }
        ],
    )
    gz = tmp_path / "repro.jsonl.gz"
    gz.write_bytes(gzip.compress(rep.read_bytes()))
    assert load_exec_signals([reg, gz]) == load_exec_signals([reg, rep])
    got = load_exec_signals([reg, rep])
    assert set(got) == {"x-1"}
    assert got["x-1"][a] == ExecEntry(None, [True, False], 0, 10)
    assert got["x-1"][b] == ExecEntry(None, [False, False], 3, 10)


def test_a_torn_file_names_the_line_and_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "sig.jsonl"
    bad.write_text('{"instance_id": "x-1", "candidates": []}\n{"instance_id": "x-\n')
    with pytest.raises(CandidateFormatError, match=r"sig.jsonl:2: .*collect_exec_signals"):
        load_exec_signals([bad])


def test_subset_recomputes_clusters_and_distinguishing_tests() -> None:
    entries = [
        ExecEntry(kept_pass=[True, True], regression_failures=0),
        ExecEntry(kept_pass=[True, False], regression_failures=0),
        ExecEntry(kept_pass=[True, True], regression_failures=2),
        None,
    ]
    keys = ["k1", "k2", "k1", None]
    sig = subset_signals(entries, keys, [0.2, 0.9, 0.4, 0.5], ["a", "b", "c", "d"])
    assert [s.cluster_size for s in sig] == [2, 1, 2, 0]
    assert [s.repro_pass for s in sig[:3]] == [2, 1, 2]
    # test 0 is passed by all three: only test 1 distinguishes
    assert [s.distinguishing_pass for s in sig[:3]] == [1, 0, 1]
    assert sig[3].dropped and not sig[3].alive
    # the same candidates submitted without "b": no test splits them any more
    sub = subset_signals([entries[0], entries[2]], ["k1", "k1"], [0.2, 0.4], ["a", "c"])
    assert [s.distinguishing_pass for s in sub] == [0, 0]


def test_shipped_rules_decide_on_rebuilt_signals() -> None:
    entries = [
        ExecEntry(kept_pass=[False], regression_failures=0),
        ExecEntry(kept_pass=[True], regression_failures=0),
        ExecEntry(kept_pass=[True], regression_failures=4),
    ]
    sig = subset_signals(entries, ["k1", "k2", "k3"], [0.9, 0.1, 0.8], ["a", "b", "c"])
    staged = make_rule(SelectionConfig(selector="staged")).decide(sig)
    assert staged.winner == "b"  # passes the reproducing test and breaks nothing
    # R2E-Gym keeps the top max(3, N/2) by verifier (all 3 here), then the fewest regressions, then votes
    assert make_rule(SelectionConfig(selector="r2e_hybrid")).decide(sig).winner == "b"
    assert execution_only_value(sig, [False, True, False]) == 1.0
    assert execution_only_value(sig, [False, False, True]) == 0.0


def test_execution_only_counts_ties_as_the_mean_label() -> None:
    sig = subset_signals([ExecEntry(), ExecEntry()], ["k1", "k2"], None, ["a", "b"])
    assert execution_only_value(sig, [True, False]) == 0.5


def test_regression_reads_sympy_logs_with_the_recipe_parser() -> None:
    log = "test_args ok\ntest_subs F\ntest_slow s\n___ sympy/core/tests/test_basic.py:test_subs ___\n"
    got = parse_results(log, "parse_log_sympy")
    assert got["test_args"] == "PASSED" and got["test_subs"] == "FAILED"
    assert "test_slow" not in got  # skipped tests are not part of the baseline
    assert parse_results("PASSED t.py::test_a\nFAILED t.py::test_b - boom\n") == {
        "t.py::test_a": "PASSED",
        "t.py::test_b": "FAILED",
    }


def test_unknown_regression_parser_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown log parser 'parse_log_nope'; known: .*parse_log_sympy"):
        RegressionConfig(parser="parse_log_nope")


def test_regression_on_contenders_only_never_changes_a_decision() -> None:
    """On the real pools' saved signals (docs/data), for every instance and random scores and subsets: masking the
    regression counts of non-contenders leaves the staged and R2E-Gym decisions as they were."""
    import dataclasses

    import numpy as np

    root = Path(__file__).resolve().parents[2] / "docs" / "data"
    sig = load_exec_signals([root / "exec-signals-regression.jsonl.gz", root / "exec-signals-repro.jsonl.gz"])
    rng = np.random.default_rng(0)
    rules = [make_rule(SelectionConfig(selector=name)) for name in ("staged", "r2e_hybrid")]
    checked = skipped = 0
    for pool in sig.values():
        entries = list(pool.values())
        for _ in range(20):
            take = rng.choice(len(entries), size=rng.integers(2, len(entries) + 1), replace=False)
            keys = [f"k{rng.integers(0, 4)}" for _ in take]
            static = [None if rng.random() < 0.3 else int(rng.random() < 0.3) for _ in take]
            signals = subset_signals(
                [entries[i] for i in take],
                keys,
                list(rng.random(len(take))),
                [f"c{i}" for i in take],
                static,  # staged sets aside patches with static errors before its regression stage
            )
            for rule in rules:
                wanted = rule.regression_contenders(signals)
                assert wanted is not None
                masked = [
                    s if s.candidate_id in wanted else dataclasses.replace(s, regression_failures=None)
                    for s in signals
                ]
                assert rule.decide(masked).winner == rule.decide(signals).winner
                checked += 1
                skipped += sum(1 for s in signals if s.alive and s.candidate_id not in wanted)
    assert checked == 2 * 20 * len(sig) and skipped > 0
    for name in ("votes", "majority", "verifier"):
        assert make_rule(SelectionConfig(selector=name)).regression_contenders(signals) == set()
    assert make_rule(SelectionConfig(selector="learned")).regression_contenders(signals) is None

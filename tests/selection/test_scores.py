"""Execution scores on hand-made pass matrices, with exact expected values."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from patchjury.selection.config import SelectionConfig
from patchjury.selection.errors import SelectionConfigError
from patchjury.selection.scores import (
    SCORES,
    B4Config,
    b4_log_scores,
    b4_scores,
    codet_scores,
    compute_scores,
    votes_scores,
)

T, F = True, False
# a and b agree (pass t0, t1), c passes t0 and t2, d passes nothing.
MATRIX = {"a": [T, T, F], "b": [T, T, F], "c": [T, F, T], "d": [F, F, F]}


def test_votes_count_kept_tests_passed() -> None:
    assert votes_scores(MATRIX) == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 0.0}


def test_codet_product_counts_candidates_times_tests() -> None:
    # consensus {a, b} x {t0, t1} = 2 x 2; {c} x {t0, t2} = 1 x 2; {d} x {} = 0
    assert codet_scores(MATRIX) == {"a": 4.0, "b": 4.0, "c": 2.0, "d": 0.0}


def test_codet_weights_are_cluster_sizes_and_sqrt_variant() -> None:
    weights = {"a": 3, "b": 1, "c": 4, "d": 1}
    assert codet_scores(MATRIX, weights) == {"a": 8.0, "b": 8.0, "c": 8.0, "d": 0.0}
    got = codet_scores(MATRIX, weights, variant="sqrt")
    assert got["a"] == pytest.approx(2 * 2.0)  # |S_y| = 2, sqrt(4)
    assert got["c"] == pytest.approx(2 * 2.0)
    assert codet_scores({"x": [T, T]}, {"x": 9}, variant="sqrt")["x"] == pytest.approx(6.0)


def test_b4_log_posterior_matches_the_formula_by_hand() -> None:
    p = B4Config(theta_x=0.3, theta_y=0.6, wrong_pass_a=1.0, wrong_pass_b=4.0)
    logs = b4_log_scores({"a": [T, F], "b": [F, F]}, {"a": 2, "b": 1}, p)
    lx, ly = math.log(0.3 / 0.7), math.log(0.6 / 0.4)
    # H_a: S_x = 2 members, S_y = {t0}; outsider b (1 candidate) fails correct t0: B(1, 5) / B(1, 4) = 4/5;
    #      incorrect t1, b fails: B(1, 2) / B(1, 1) = 1/2
    expect_a = 2 * lx + 1 * ly + math.log(4 / 5) + math.log(1 / 2)
    # H_b: S_x = 1, S_y = {}; outsiders a (2 candidates) pass t0: B(3, 1) = 1/3; fail t1: B(1, 3) = 1/3
    expect_b = 1 * lx + math.log(1 / 3) + math.log(1 / 3)
    assert logs[(T, F)] == pytest.approx(expect_a)
    assert logs[(F, F)] == pytest.approx(expect_b)
    post = b4_scores({"a": [T, F], "b": [F, F]}, {"a": 2, "b": 1}, p)
    assert post["a"] == pytest.approx(1 / (1 + math.exp(expect_b - expect_a)))
    assert post["a"] + post["b"] == pytest.approx(1.0)


def test_b4_rewards_agreement() -> None:
    # a passes a test nobody else passes; b, c, d agree on passing the other test.
    m = {"a": [T, F], "b": [F, T], "c": [F, T], "d": [F, T]}
    post = b4_scores(m)
    # H_b: a fails correct t1 (4/5), a passes incorrect t0 (1/2) -> 0.4
    # H_a: b, c, d fail correct t0 (B(1, 7) / B(1, 4) = 4/7), pass incorrect t1 (B(4, 1) = 1/4) -> 1/7
    assert post["b"] == post["c"] == post["d"] == pytest.approx(0.4 / (0.4 + 1 / 7))
    assert post["a"] == pytest.approx((1 / 7) / (0.4 + 1 / 7))


def test_b4_test_passed_by_many_others_counts_less() -> None:
    # a and b pass two tests each; a's second test is also passed by three others (it fails to separate).
    m = {"a": [T, T, F], "b": [T, F, T], "x1": [F, T, F], "x2": [F, T, F], "x3": [F, T, F]}
    post = b4_scores(m)
    assert post["b"] > post["a"]
    assert votes_scores(m)["a"] == votes_scores(m)["b"]


def test_compute_scores_by_name_and_errors() -> None:
    assert compute_scores("votes", MATRIX)["d"] == 0.0
    assert compute_scores("codet", MATRIX)["a"] == 4.0
    assert compute_scores("b4", {}) == {}
    with pytest.raises(SelectionConfigError, match="unknown score 'nope': choose one of votes, codet, b4"):
        compute_scores("nope", MATRIX)
    assert set(SCORES) == {"votes", "codet", "b4"}
    settings = SelectionConfig(codet_variant="sqrt")
    assert compute_scores("codet", MATRIX, {"a": 4, "b": 1}, settings)["a"] == pytest.approx(2 * math.sqrt(5))
    with pytest.raises(SelectionConfigError, match="different lengths"):
        votes_scores({"a": [T], "b": [T, F]})
    with pytest.raises(ValidationError, match="theta_x"):
        B4Config(theta_x=1.0)
    with pytest.raises(ValidationError, match="wrong_pass_b"):
        B4Config(wrong_pass_b=0.0)

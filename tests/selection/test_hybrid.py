"""Decision rules on hand-made evidence: R2E-Gym's hybrid step by step, staged, learned, baselines."""

from __future__ import annotations

import math

import pytest

from patchjury.selection.selectors import (
    RULES,
    Learned,
    LearnedWeights,
    R2EHybrid,
    Signals,
    Single,
    Staged,
    build_decision,
    make_rule,
)


def sig(cid: str, **kw: object) -> Signals:
    base: dict[str, object] = {"cluster": 0, "cluster_size": 1}
    base.update(kw)
    return Signals(cid, **base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "k"), [(1, 1), (3, 3), (4, 3), (6, 3), (7, 3), (8, 4), (9, 4), (26, 13)])
def test_r2e_k_is_max_3_and_half(n: int, k: int) -> None:
    assert R2EHybrid().k(n) == k


def test_r2e_rule_step_by_step() -> None:
    # 8 alive -> k = 4: top-4 by verifier are v1 (.9), v2 (.8), v3 (.7), v4 (.6); v5 (best execution) is cut.
    signals = [
        sig("v1", verifier_score=0.9, regression_failures=2, exec_score=5.0),
        sig("v2", verifier_score=0.8, regression_failures=0, exec_score=2.0),
        sig("v3", verifier_score=0.7, regression_failures=0, exec_score=3.0),
        sig("v4", verifier_score=0.6, regression_failures=0, exec_score=3.0),
        sig("v5", verifier_score=0.5, regression_failures=0, exec_score=9.0),
        sig("v6", verifier_score=0.4),
        sig("v7", verifier_score=0.3),
        sig("v8", verifier_score=0.2),
        sig("dead", verifier_score=1.0, dropped="empty patch"),
    ]
    out = R2EHybrid().decide(signals)
    # regression keeps v2, v3, v4 (0 failures); execution keeps v3, v4 (3.0); verifier picks v3 (.7 > .6)
    assert out.winner == "v3"
    text = "\n".join(out.reasons)
    assert "k = max(3, 8 x 0.5) = 4 of 8: v1 (0.9), v2 (0.8), v3 (0.7), v4 (0.6)" in text
    assert "fewest new failures (0) kept v2, v3, v4" in text
    assert "highest execution score (3) kept v3, v4" in text
    assert "highest verifier score (0.7) kept v3" in text


def test_r2e_ties_broken_by_cluster_then_id() -> None:
    signals = [
        sig("b", verifier_score=0.5, exec_score=1.0, regression_failures=0, cluster_size=2),
        sig("a", verifier_score=0.5, exec_score=1.0, regression_failures=0, cluster_size=1),
        sig("c", verifier_score=0.5, exec_score=1.0, regression_failures=0, cluster_size=2),
    ]
    out = R2EHybrid().decide(signals)
    assert out.winner == "b"
    assert "tie with c" in out.reasons[-1]
    # boundary of the top-k cut is deterministic: equal verifier scores rank by cluster size, then id
    many = [sig(f"x{i}", verifier_score=0.5, cluster_size=1) for i in range(6)] + [
        sig("big", verifier_score=0.5, cluster_size=3, exec_score=1.0)
    ]
    out = R2EHybrid().decide(many)
    assert "3 of 7: big (0.5), x0 (0.5), x1 (0.5)" in out.reasons[0]
    assert out.winner == "big"


def test_tie_break_uses_natural_order_of_ids() -> None:
    out = Single("majority").decide([sig("c10"), sig("c9"), sig("c2")])
    assert out.winner == "c2"
    assert "tie with c10, c9 broken" in out.reasons[-1]


def test_r2e_without_verifier_or_execution_still_decides() -> None:
    out = R2EHybrid().decide([sig("a", cluster_size=1), sig("b", cluster_size=3)])
    assert out.winner == "b"
    assert "verifier stage skipped" in out.reasons[0]


def test_staged_prefers_repro_then_zero_regressions_then_cluster_then_verifier() -> None:
    common = {"repro_total": 6}
    signals = [
        sig(
            "c1",
            repro_pass=3,
            distinguishing_pass=1,
            regression_failures=0,
            cluster_size=5,
            verifier_score=0.9,
            **common,
        ),
        sig(
            "c2",
            repro_pass=5,
            distinguishing_pass=3,
            regression_failures=1,
            cluster_size=1,
            verifier_score=0.9,
            **common,
        ),
        sig(
            "c3",
            repro_pass=5,
            distinguishing_pass=3,
            regression_failures=0,
            cluster_size=2,
            verifier_score=0.1,
            **common,
        ),
        sig(
            "c4",
            repro_pass=5,
            distinguishing_pass=3,
            regression_failures=0,
            cluster_size=2,
            verifier_score=0.4,
            **common,
        ),
        sig("c5", repro_pass=6, dropped="patch does not apply", **common),
    ]
    out = Staged().decide(signals)
    assert out.winner == "c4"
    text = "\n".join(out.reasons)
    assert "4 candidate(s) in the running, 1 dropped" in text
    assert "c2, c3, c4 pass 5/6 reproducing tests (others <= 3)" in text
    assert "zero regression failures: c3, c4" in text
    assert "highest verifier score (0.4): c4" in text


def test_staged_without_tests_falls_to_cluster_size() -> None:
    out = Staged().decide([sig("a", cluster_size=1, verifier_score=0.99), sig("b", cluster_size=2)])
    assert out.winner == "b"
    assert "no reproducing tests" in out.reasons[1]


def test_staged_sets_aside_static_errors_after_reproducing_tests() -> None:
    # a larger cluster with a higher verifier score loses to a patch that introduces no undefined name
    flagged = sig("a", cluster_size=3, verifier_score=0.9, static_errors=1)
    out = Staged().decide([flagged, sig("b", cluster_size=1, verifier_score=0.2, static_errors=0)])
    assert out.winner == "b"
    assert "introduce undefined names or syntax errors (static checks), set aside: a" in out.reasons
    # not checked (None) is not flagged; when every candidate is flagged the stage keeps them all
    assert Staged().decide([flagged, sig("b", cluster_size=1)]).winner == "b"
    both = [flagged, sig("b", cluster_size=1, static_errors=2)]
    assert Staged().decide(both).winner == "a"
    # reproducing tests come first: a flagged candidate that passes them still wins
    tested = [
        sig("a", repro_pass=1, repro_total=1, static_errors=1),
        sig("b", repro_pass=0, repro_total=1, static_errors=0),
    ]
    assert Staged().decide(tested).winner == "a"


def test_no_survivor_means_no_winner() -> None:
    signals = [sig("a", dropped="empty patch"), sig("b", dropped="patch does not apply")]
    for rule in (Staged(), R2EHybrid(), Learned(), Single("votes")):
        out = rule.decide(signals)
        assert out.winner is None
        assert "all 2 were dropped" in out.reasons[0]


def test_learned_logistic_score_exact() -> None:
    rule = Learned(LearnedWeights(bias=-1.0, votes=2.0, regression=1.0, cluster=1.0, verifier=1.0))
    a = sig("a", repro_pass=2, repro_total=2, regression_failures=0, cluster_size=1, verifier_score=0.2)
    b = sig("b", repro_pass=1, repro_total=2, regression_failures=2, cluster_size=2, verifier_score=0.8)
    b2 = sig("b2", repro_pass=1, repro_total=2, regression_failures=2, cluster_size=2, verifier_score=0.8)
    out = rule.decide([a, b, b2])
    # a: -1 + 2*1 + 1*1 + 1*(1/3) + 0.2 ; b: -1 + 2*0.5 + 1*0 + 1*(2/3) + 0.8
    assert out.scores["a"] == pytest.approx(1 / (1 + math.exp(-(2.2 + 1 / 3))))
    assert out.scores["b"] == pytest.approx(1 / (1 + math.exp(-(0.8 + 2 / 3))))
    assert out.winner == "a"


def test_single_signal_baselines() -> None:
    s = [
        sig("a", verifier_score=0.9, exec_score=1.0, cluster_size=1),
        sig("b", verifier_score=0.2, exec_score=4.0, cluster_size=1),
        sig("c", verifier_score=0.3, exec_score=2.0, cluster_size=3),
    ]
    assert Single("verifier").decide(s).winner == "a"
    assert Single("votes").decide(s).winner == "b"
    assert Single("majority").decide(s).winner == "c"
    fallback = Single("votes").decide([sig("x", cluster_size=1), sig("y", cluster_size=2)])
    assert fallback.winner == "y" and "falling back to the largest cluster" in fallback.reasons[0]


def test_build_decision_records_evidence() -> None:
    s = [
        sig("a", repro_pass=1, repro_total=2, exec_score=1.0, verifier_score=0.5),
        sig("b", dropped="empty patch"),
    ]
    out = Staged().decide(s)
    d = build_decision("i1", "staged", s, out, {"a": "PATCH-A", "b": ""})
    assert d.winner == "a" and d.model_patch == "PATCH-A"
    ev = {e.candidate_id: e for e in d.evidence}
    assert ev["a"].votes == 1.0 and ev["a"].repro_pass == 1 and ev["a"].scores["repro_total"] == 2.0
    assert ev["b"].dropped == "empty patch"


def test_rules_registry_names_and_declared_needs() -> None:
    """One name -> factory map: every rule is built from the config by name and declares what it reads."""
    from patchjury.selection.config import SelectionConfig

    assert list(RULES) == ["staged", "r2e_hybrid", "learned", "verifier", "votes", "majority"]
    needs = {name: make_rule(SelectionConfig(selector=name)).needs_verifier for name in RULES}
    assert needs == {
        "staged": True,
        "r2e_hybrid": True,
        "learned": True,
        "verifier": True,
        "votes": False,
        "majority": False,
    }
    for name in RULES:
        assert make_rule(SelectionConfig(), name).name == name
    hybrid = make_rule(SelectionConfig(selector="r2e_hybrid", k_min=5, k_fraction=0.25))
    assert isinstance(hybrid, R2EHybrid) and (hybrid.k_min, hybrid.k_fraction) == (5, 0.25)
    weights = LearnedWeights(bias=1.0, votes=0.0)
    learned = make_rule(SelectionConfig(selector="learned", learned=weights))
    assert isinstance(learned, Learned) and learned.weights == weights
    assert Learned().weights == LearnedWeights()  # the rule's defaults are the config's, written once
    with pytest.raises(ValueError, match="unknown selector 'nope': choose one of staged, r2e_hybrid"):
        SelectionConfig(selector="nope")
    with pytest.raises(ValueError, match="unknown score 'nope': choose one of votes, codet, b4"):
        SelectionConfig(scores="nope")

"""selection.stopping: the jury's confidence in its pick between waves of adaptive sampling."""

from __future__ import annotations

import random
from typing import get_args

import pytest

from patchjury.selection.selectors import Signals
from patchjury.selection.stopping import StopRuleName, class_of, confidence, stability


def _urn(mine: int, others: list[int], remaining: int, alpha: float, runs: int, rng: random.Random) -> float:
    """The same probability by simulation (Polya urn with a new-class weight alpha)."""
    won = 0.0
    for _ in range(runs):
        sizes = [mine, *others]
        for _ in range(remaining):
            x = rng.random() * (sum(sizes) + alpha)
            for j, size in enumerate(sizes):
                x -= size
                if x < 0:
                    sizes[j] += 1
                    break
            else:
                sizes.append(1)
        top = max(sizes[1:], default=0)
        won += 1.0 if sizes[0] > top else 0.5 if sizes[0] == top else 0.0
    return won / runs


@pytest.mark.parametrize(
    ("classes", "budget", "alpha"),
    [
        (["a", "a"], 9, 1.0),
        (["a", "a", "b"], 9, 1.0),
        (["a", "a", "a", "b", "c"], 9, 1.0),
        (["a", "a", "b"], 6, 3.0),
    ],
)
def test_stability_is_the_urn_probability(classes: list[str], budget: int, alpha: float) -> None:
    counts = [classes.count(c) for c in dict.fromkeys(classes) if c != "a"]
    expected = _urn(classes.count("a"), counts, budget - len(classes), alpha, 20_000, random.Random(0))
    assert stability(classes, "a", budget, alpha) == pytest.approx(expected, abs=0.015)


def test_stability_grows_with_agreement_and_shrinks_with_what_is_left() -> None:
    assert stability(["a", "b"], "a", 9) == 0.0  # a tie does not lead
    assert stability(["a", "a", "b"], "b", 9) == 0.0  # the minority never leads
    two, three = stability(["a", "a"], "a", 9), stability(["a", "a", "a"], "a", 9)
    assert 0.5 < two < three < 1.0
    assert stability(["a", "a"], "a", 4) > two  # fewer samples to come: less can change
    assert stability(["a"] * 5 + ["b"], "a", 9) == 1.0  # 5 vs 1 with 3 to go: b cannot catch up


def _sig(cid: str, cluster: int, **kw: object) -> Signals:
    return Signals(cid, cluster=cluster, cluster_size=1, **kw)  # type: ignore[arg-type]


def test_confidence_rules_and_vetoes() -> None:
    sigs = [
        _sig("t0", 0, verifier_score=0.4),
        _sig("t1", 0, verifier_score=0.5),
        _sig("t2", 1, verifier_score=0.9),
    ]
    stab = stability([0, 0, 1], 0, 8)
    assert confidence(sigs, "t0", 8, "stability").value == pytest.approx(stab)
    assert confidence(sigs, "t0", 8, "verifier").value == pytest.approx(0.4)
    assert confidence(sigs, "t2", 8, "either").value == pytest.approx(0.9)  # minority, sure verifier
    both = confidence(sigs, "t0", 8)
    assert both.value == pytest.approx(max(stab, 0.4)) and "holds 2 of 3 live candidates" in both.reason
    # execution says another candidate is better: not settled, whatever the votes say
    sigs[2].repro_pass, sigs[0].repro_pass = 1, 0
    veto = confidence(sigs, "t0", 8)
    assert veto.value == 0.0 and veto.vetoed and "passes more kept reproduction tests" in veto.reason
    sigs[2].repro_pass = 0
    sigs[0].regression_failures, sigs[1].regression_failures = 3, 0
    assert "breaks fewer related tests" in confidence(sigs, "t0", 8).reason
    assert confidence(sigs, None, 8).value == 0.0
    sigs[0].dropped = "empty patch"
    assert confidence(sigs, "t0", 8).reason == "no live candidate yet"


def test_behaviour_classes_count_different_patches_that_behave_alike() -> None:
    # three different patches: no two agree as patches, but t0 and t1 print the same on every informative test
    sigs = [
        _sig("t0", 0, verifier_score=0.3),
        _sig("t1", 1, verifier_score=0.3),
        _sig("t2", 2, verifier_score=0.3),
    ]
    by_patch = confidence(sigs, "t0", 8, "stability")
    assert by_patch.value == 0.0 and "holds 1 of 3" in by_patch.reason
    sigs[0].behaviour_class, sigs[1].behaviour_class, sigs[2].behaviour_class = 0, 0, 1
    assert class_of(sigs[0]) == class_of(sigs[1]) != class_of(sigs[2])
    by_behaviour = confidence(sigs, "t0", 8, "stability")
    expected = stability(["a", "a", "b"], "a", 8)
    assert expected > 0.5 and by_behaviour.value == pytest.approx(expected)
    assert "holds 2 of 3" in by_behaviour.reason
    # a candidate without a class (its tests did not tell it apart) keeps its patch cluster, never a class's
    sigs[2].behaviour_class = None
    assert class_of(sigs[2]) == ("patch", 2) and class_of(_sig("t3", 0)) != class_of(sigs[0])


def test_the_adaptive_settings_offer_exactly_the_stopping_rules() -> None:
    """agent/ cannot import selection/, so `adaptive.rule` spells the rule names out: they must stay the same."""
    from patchjury.agent.adaptive import AdaptiveConfig

    assert get_args(AdaptiveConfig.model_fields["rule"].annotation) == get_args(StopRuleName)

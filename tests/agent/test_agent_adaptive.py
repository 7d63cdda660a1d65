"""agent.adaptive: waves of trajectories until the judge is confident, then stop; the result says why and what
it saved."""

from __future__ import annotations

from collections.abc import Sequence

from patchjury.agent.adaptive import AdaptiveConfig, Verdict, run_adaptive, waves
from patchjury.records import Candidate


def _cands(indices: Sequence[int]) -> list[Candidate]:
    return [Candidate(instance_id="i", model_patch=f"p{i}", candidate_id=f"t{i:03d}") for i in indices]


def test_waves_cover_the_budget_once() -> None:
    assert waves(8, 2, 2) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert waves(5, 2, 2) == [[0, 1], [2, 3], [4]]
    assert waves(9, 3, 4) == [[0, 1, 2], [3, 4, 5, 6], [7, 8]]
    assert waves(1, 2, 2) == [[0]]


def test_stops_at_the_first_confident_wave() -> None:
    ran: list[list[int]] = []
    seen: list[int] = []

    def judge(cands: list[Candidate], budget: int) -> Verdict:
        seen.append(len(cands))
        assert budget == 8
        return Verdict(0.5 if len(cands) < 4 else 0.9, f"{len(cands)} so far", "t000")

    result = run_adaptive(lambda idx: ran.append(list(idx)) or _cands(idx), 8, AdaptiveConfig(), judge)
    assert ran == [[0, 1], [2, 3]] and seen == [2, 4]
    assert (result.used, result.saved) == (4, 4)
    assert "confident (confidence 0.90 >= 0.80) of t000" in result.stopped
    assert "sampled 4 of 8 trajectories in 2 wave(s), saved 4 (50%)" in result.summary()
    assert [w["sampled"] for w in result.to_json()["waves"]] == [2, 4]


def test_an_unsure_jury_samples_the_whole_budget() -> None:
    result = run_adaptive(
        _cands, 5, AdaptiveConfig(threshold=0.95), lambda c, b: Verdict(0.6, "split", "t001")
    )
    assert result.used == 5 and result.saved == 0 and len(result.waves) == 3
    assert result.stopped.startswith("the whole budget was sampled (last confidence 0.60, threshold 0.95")

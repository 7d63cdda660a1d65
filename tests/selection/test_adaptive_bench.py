"""The offline adaptive-sampling benchmark (selection/training/adaptive.py): waves, stopping and the curves."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchjury.selection.training.adaptive import Wave, load_rows, stop_at, summarize, wave_sizes


def test_wave_sizes() -> None:
    assert wave_sizes(9) == [2, 4, 6, 8, 9] and wave_sizes(8) == [2, 4, 6, 8]
    assert wave_sizes(3) == [2, 3] and wave_sizes(1) == [1] and wave_sizes(6, first=1) == [1, 3, 5, 6]


def test_stop_at_and_summary() -> None:
    sure = [Wave(2, 0.95, 0.2, False, 1.0), Wave(4, 0.99, 0.2, False, 1.0), Wave(6, 1.0, 0.3, False, 1.0)]
    split = [Wave(2, 0.0, 0.3, False, 0.0), Wave(4, 0.4, 0.85, True, 0.0), Wave(6, 0.5, 0.6, False, 1.0)]
    assert stop_at(sure, "stability", 0.9).k == 2 and stop_at(sure, "verifier", 0.9).k == 6
    assert stop_at(split, "verifier", 0.8).k == 6  # the veto at K=4 holds the sampling
    s = summarize({"easy": [sure], "hard": [split]})
    assert (s["best_n"], s["mean_n"]) == (1.0, 6.0)
    assert [(k, acc) for k, _, acc in s["fixed"]] == [(2, 0.5), (4, 0.5), (6, 1.0)]
    either_09 = dict((t, (k, acc)) for t, k, acc in s["curves"]["either"])[0.9]
    assert either_09 == (4.0, 1.0)  # the easy pool stops at 2, the split one samples all 6
    assert s["oracle_stop_k"] == 4.0  # the easy pool's pick is right at 2, the split one's only at 6
    # the oracle's halves: stopping early where the whole pool's pick is right, or only where it is wrong
    wrong = [Wave(2, 0.0, 0.1, False, 0.0), Wave(4, 0.0, 0.1, False, 0.0), Wave(6, 0.0, 0.1, False, 0.0)]
    s = summarize({"easy": [sure], "hard": [split], "hopeless": [wrong]})
    assert (s["oracle_stop_k"], s["oracle_right_k"], s["oracle_wrong_k"]) == (10 / 3, 14 / 3, 14 / 3)


def test_same_agent_setting(shared_data: Path) -> None:
    cands = load_rows(shared_data / "candidates" / "lite_pools_with_tests_train.jsonl.gz", same_agent=True)
    per: dict[str, int] = {}
    for c in cands:
        per[c.instance_id] = per.get(c.instance_id, 0) + 1
        assert c.trajectory is None and isinstance((c.model_extra or {}).get("resolved"), bool)
    assert len(per) == 165 and set(per.values()) == {3}
    assert any(c.tests for c in cands)  # the scripts the trajectories wrote come along
    with pytest.raises(StopIteration):
        next(c for c in cands if (c.model_extra or {}).get("system") != "sweagent-gpt4-0125")

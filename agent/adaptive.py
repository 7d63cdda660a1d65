"""Adaptive compute: sample trajectories in waves and stop as soon as the jury is sure of its pick.

    result = run_adaptive(run_wave, budget=8, config=AdaptiveConfig(enabled=True), judge=judge)

`run_wave(indices)` runs those trajectories (agent.runner: finished ones are skipped, unfinished ones resume, so
a rerun replays the same waves and stops at the same place). After each wave `judge(candidates, budget)` scores
everything sampled so far and says how confident its decision is (the front door builds it from the jury:
selection.stopping); sampling stops once that confidence reaches `threshold`, else the next wave runs, up to the
budget (`agent.n_trajectories`). The result says why it stopped and how many trajectories that saved.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from patchjury.records import Candidate


class AdaptiveConfig(BaseModel):
    """Waves of trajectories and when to stop (the `adaptive:` settings section; `--adaptive`)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    """Sample in waves and stop early when the jury is sure (off: always `agent.n_trajectories`)."""
    first_wave: int = Field(default=2, ge=1)
    """Trajectories of the first wave (two are the least that can agree with each other)."""
    wave: int = Field(default=2, ge=1)
    """Trajectories added by every further wave."""
    rule: Literal["stability", "verifier", "either"] = "either"
    """Evidence the jury's confidence rests on (selection.stopping): `stability` (more samples would not change
    the pick), `verifier` (the pick looks right to the trained verifier), or `either` (the larger)."""
    threshold: float = Field(default=0.8, ge=0, le=1)
    """Stop once the confidence reaches this; 1 never stops early."""
    alpha: float = Field(default=1.0, gt=0)
    """How readily a new sample writes a patch unlike any before (the stability model's concentration)."""


@dataclass
class Verdict:
    """The judge's view of the candidates so far."""

    confidence: float
    reason: str
    winner: str | None


class Judge(Protocol):
    def __call__(self, candidates: list[Candidate], budget: int) -> Verdict: ...


@dataclass
class WaveReport:
    trajectories: list[int]
    sampled: int
    confidence: float
    winner: str | None
    reason: str


@dataclass
class AdaptiveResult:
    candidates: list[Candidate]
    budget: int
    threshold: float
    waves: list[WaveReport] = field(default_factory=list)
    stopped: str = ""
    """Why sampling stopped."""

    @property
    def used(self) -> int:
        return len(self.candidates)

    @property
    def saved(self) -> int:
        return self.budget - self.used

    def summary(self) -> str:
        """One line for reports."""
        share = self.saved / self.budget if self.budget else 0.0
        return (
            f"sampled {self.used} of {self.budget} trajectories in {len(self.waves)} wave(s), saved {self.saved} "
            f"({100 * share:.0f}%): {self.stopped}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "used": self.used,
            "saved": self.saved,
            "threshold": self.threshold,
            "stopped": self.stopped,
            "waves": [asdict(w) for w in self.waves],
        }


def waves(budget: int, first: int, step: int) -> list[list[int]]:
    """Trajectory indices of each wave: [0, first), then `step` more at a time, up to `budget`."""
    out, start, size = [], 0, first
    while start < budget:
        out.append(list(range(start, min(budget, start + size))))
        start, size = start + size, step
    return out


def run_adaptive(
    run_wave: Callable[[Sequence[int]], list[Candidate]],
    budget: int,
    config: AdaptiveConfig,
    judge: Judge,
    on_wave: Callable[[AdaptiveResult], None] | None = None,
    stop: threading.Event | None = None,
) -> AdaptiveResult:
    """Waves until the judge is confident or the budget is spent; `on_wave` sees the result after every wave.
    `stop` set (Ctrl-C): no further wave starts."""
    result = AdaptiveResult([], budget, config.threshold)
    plan = waves(budget, config.first_wave, config.wave)
    for k, indices in enumerate(plan):
        result.candidates += run_wave(indices)
        if stop is not None and stop.is_set():
            result.stopped = "interrupted: no further wave was started"
            if on_wave is not None:
                on_wave(result)  # adaptive.json says so too (a rerun replays the waves and overwrites it)
            break
        verdict = judge(list(result.candidates), budget)
        result.waves.append(
            WaveReport(indices, result.used, round(verdict.confidence, 4), verdict.winner, verdict.reason)
        )
        if verdict.confidence >= config.threshold and k < len(plan) - 1:
            result.stopped = (
                f"the jury was confident (confidence {verdict.confidence:.2f} >= {config.threshold:.2f}) of "
                f"{verdict.winner}: {verdict.reason}"
            )
        elif k == len(plan) - 1:
            result.stopped = (
                f"the whole budget was sampled (last confidence {verdict.confidence:.2f}, "
                f"threshold {config.threshold:.2f}: {verdict.reason})"
            )
        if on_wave is not None:
            on_wave(result)
        if result.stopped:
            break
    return result

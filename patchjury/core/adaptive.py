"""The jury as the judge of adaptive sampling (agent.adaptive): between waves it scores the candidates so far
without running anything (behaviour classes, the verifier, static checks) and reports how sure its pick is
(selection.stopping). The full jury, tests included, runs once on whatever was sampled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from patchjury.agent.adaptive import AdaptiveConfig, Verdict
from patchjury.records import Candidate, Task

if TYPE_CHECKING:
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.static_check import StaticChecker


class JuryJudge:
    """agent.adaptive.Judge over selection.pipeline.run_instance without environments."""

    def __init__(
        self, task: Task, selection: SelectionConfig, adaptive: AdaptiveConfig, static: StaticChecker | None
    ) -> None:
        self.task, self.selection, self.static = task, selection, static
        self.adaptive = adaptive
        self._verifier: Any = None

    def __call__(self, candidates: list[Candidate], budget: int) -> Verdict:
        from patchjury.selection.pipeline import load_verifier, run_instance
        from patchjury.selection.stopping import confidence

        if self._verifier is None and self.selection.use_verifier:
            self._verifier = load_verifier(self.selection, self.static)  # once, not per wave
        run = run_instance(
            self.task, candidates, self.selection, None, self._verifier, static=self.static, progress=False
        )
        conf = confidence(run.signals, run.decision.winner, budget, self.adaptive.rule, self.adaptive.alpha)
        return Verdict(conf.value, conf.reason, run.decision.winner)

"""Decision rules: R2E-Gym's hybrid, our staged and learned rules, and single-signal baselines."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from patchjury.selection.selectors.base import (
    RuleOutcome,
    Signals,
    break_tie,
    fmt,
    keep_best,
    no_candidate,
    tie_key,
    tie_reason,
)


def _others_best(pool: Sequence[Signals], best: Sequence[Signals], attr: str, *, higher: bool = True) -> str:
    ids = {id(s) for s in best}
    vals = [getattr(s, attr) for s in pool if id(s) not in ids and getattr(s, attr) is not None]
    if not vals:
        return "no other candidate measured"
    return f"others {'<=' if higher else '>='} {fmt(max(vals) if higher else min(vals))}"


def _finish(reasons: list[str], pool: Sequence[Signals]) -> RuleOutcome:
    win = break_tie(pool)
    tie = tie_reason(pool, win)
    if tie:
        reasons.append(tie)
    return RuleOutcome(win.candidate_id, reasons)


def _regression_phrase(s: Signals) -> str:
    if s.regression_failures is None:
        return "regressions not measured"
    return f"{s.regression_failures} regression failure(s) of {fmt(s.regression_total)} related tests"


def _reproduction_score(pool: Sequence[Signals]) -> Callable[[Signals], float | None]:
    """R2E-Gym's execution stage: the execution score over exit-code tests when measured, else the tests passed
    by their own convention (real agents' scripts that assert, raise or print Agentless markers)."""
    if any(s.exec_score is not None for s in pool):
        return lambda s: s.exec_score
    return lambda s: None if s.oracle_pass is None else float(s.oracle_pass)


@dataclass
class R2EHybrid:
    """R2E-Gym's hybrid rule: top k = max(k_min, floor(N * k_fraction)) by verifier score, then the
    fewest regression failures, then the highest execution (reproduction) score, then the highest
    verifier score; remaining ties by cluster size then candidate id."""

    k_min: int = 3
    k_fraction: float = 0.5
    name: str = "r2e_hybrid"
    needs_verifier: ClassVar[bool] = True

    def k(self, n: int) -> int:
        return min(n, max(self.k_min, math.floor(n * self.k_fraction)))

    def verifier_stage(self, alive: Sequence[Signals]) -> list[Signals] | None:
        """The top k of `alive` by verifier score (equal scores in tie-break order); None without verifier scores."""
        if not any(s.verifier_score is not None for s in alive):
            return None
        ranked = sorted(alive, key=lambda s: (-(s.verifier_score or 0.0), *tie_key(s)))
        return ranked[: self.k(len(alive))]

    def decide(self, signals: Sequence[Signals]) -> RuleOutcome:
        alive = [s for s in signals if s.alive]
        if not alive:
            return no_candidate(signals)
        reasons: list[str] = []
        n, k = len(alive), self.k(len(alive))
        top = self.verifier_stage(alive)
        if top is not None:
            pool = top
            reasons.append(
                f"verifier stage: kept top k = max({self.k_min}, {n} x {self.k_fraction:g}) = {k} of {n}: "
                + ", ".join(f"{s.candidate_id} ({fmt(s.verifier_score)})" for s in pool)
            )
        else:
            pool = alive
            reasons.append(f"verifier stage skipped (no verifier scores): all {n} candidates kept")
        step = keep_best(pool, lambda s: s.regression_failures, higher=False)
        if any(s.regression_failures is not None for s in pool):
            reasons.append(
                f"regression stage: fewest new failures ({fmt(step[0].regression_failures)}) kept "
                + ", ".join(s.candidate_id for s in step)
            )
        pool = step
        score = _reproduction_score(pool)
        step = keep_best(pool, score)
        if any(score(s) is not None for s in pool):
            what = "execution score" if any(s.exec_score is not None for s in pool) else "tests passed"
            reasons.append(
                f"reproduction stage: highest {what} ({fmt(score(step[0]))}) kept "
                + ", ".join(s.candidate_id for s in step)
            )
        pool = keep_best(step, lambda s: s.verifier_score)
        if len(step) > 1 and any(s.verifier_score is not None for s in step):
            reasons.append(
                f"verifier tie-break: highest verifier score ({fmt(pool[0].verifier_score)}) kept "
                + ", ".join(s.candidate_id for s in pool)
            )
        return _finish(reasons, pool)

    def regression_contenders(self, signals: Sequence[Signals]) -> set[str] | None:
        """The verifier stage's top k (every live candidate without verifier scores)."""
        alive = [s for s in signals if s.alive]
        top = self.verifier_stage(alive)
        return {s.candidate_id for s in (alive if top is None else top)}


@dataclass
class Staged:
    """Ours: drop non-applying/empty; keep the candidates passing the most kept reproduction tests
    (and, among them, the most distinguishing tests); then the highest behaviour vote (agreement on what every
    test prints, selection.behaviour); prefer patches that introduce no undefined name or syntax error (static
    checks, when run); prefer zero regression failures (else the fewest); then the larger cluster; then the higher
    verifier score; then candidate id."""

    name: str = "staged"
    needs_verifier: ClassVar[bool] = True
    """Its last tie-break reads the verifier score."""

    @staticmethod
    def repro_stage(alive: Sequence[Signals]) -> tuple[int, list[Signals], list[Signals]] | None:
        """(kept tests, the candidates passing the most of them, and among those the ones passing the most
        distinguishing tests); None when no kept test was measured."""
        total = next((s.repro_total for s in alive if s.repro_total), None)
        if not total:
            return None
        best = keep_best(alive, lambda s: s.repro_pass)
        return total, best, keep_best(best, lambda s: s.distinguishing_pass)

    @staticmethod
    def behaviour_stage(pool: Sequence[Signals]) -> list[Signals]:
        """The candidates with the highest output-differential vote (pool unchanged when none was measured)."""
        return keep_best(pool, lambda s: s.behaviour)

    @staticmethod
    def static_stage(pool: Sequence[Signals]) -> tuple[list[Signals], list[Signals]]:
        """(kept, set aside): patches introducing undefined names or syntax errors are set aside, unless all do."""
        flagged = [s for s in pool if s.static_errors]
        if not flagged or len(flagged) == len(pool):
            return list(pool), []
        return [s for s in pool if not s.static_errors], flagged

    def decide(self, signals: Sequence[Signals]) -> RuleOutcome:
        alive = [s for s in signals if s.alive]
        if not alive:
            return no_candidate(signals)
        dropped = len(signals) - len(alive)
        reasons = [f"{len(alive)} candidate(s) in the running" + (f", {dropped} dropped" if dropped else "")]
        pool = alive
        stage = self.repro_stage(alive)
        if stage is not None:
            total, best, pool = stage
            win = best[0]
            reasons.append(
                f"{', '.join(s.candidate_id for s in best)} pass{'es' if len(best) == 1 else ''} "
                f"{fmt(win.repro_pass)}/{total} reproducing tests ({_others_best(alive, best, 'repro_pass')})"
            )
        else:
            reasons.append("no reproducing tests (none measured or none exits 2 on the original code)")
        voted = self.behaviour_stage(pool)
        if len(voted) < len(pool):
            reasons.append(
                f"highest behaviour vote ({fmt(voted[0].behaviour)}: agreement with other candidates on what the "
                f"tests print, minus crashes): {', '.join(s.candidate_id for s in voted)} "
                f"({_others_best(pool, voted, 'behaviour')})"
            )
        pool = voted
        pool, flagged = self.static_stage(pool)
        if flagged:
            reasons.append(
                "introduce undefined names or syntax errors (static checks), set aside: "
                + ", ".join(s.candidate_id for s in flagged)
            )
        if any(s.regression_failures is not None for s in pool):
            clean = [s for s in pool if s.regression_failures == 0]
            pool = clean or keep_best(pool, lambda s: s.regression_failures, higher=False)
            reasons.append(
                (
                    "zero regression failures: "
                    if clean
                    else f"fewest regression failures ({fmt(pool[0].regression_failures)}): "
                )
                + ", ".join(s.candidate_id for s in pool)
            )
        if len(pool) > 1 and len({s.cluster_size for s in pool}) > 1:
            pool = keep_best(pool, lambda s: float(s.cluster_size))
            reasons.append(
                f"largest cluster ({pool[0].cluster_size} identical patches): "
                + ", ".join(s.candidate_id for s in pool)
            )
        if len(pool) > 1 and any(s.verifier_score is not None for s in pool):
            pool = keep_best(pool, lambda s: s.verifier_score)
            reasons.append(
                f"highest verifier score ({fmt(pool[0].verifier_score)}): "
                + ", ".join(s.candidate_id for s in pool)
            )
        return _finish(reasons, pool)

    def regression_contenders(self, signals: Sequence[Signals]) -> set[str] | None:
        """The candidates passing the most kept reproduction tests (then the most distinguishing ones), less those
        the static stage sets aside."""
        alive = [s for s in signals if s.alive]
        stage = self.repro_stage(alive)
        kept, _ = self.static_stage(self.behaviour_stage(stage[2] if stage else alive))
        return {s.candidate_id for s in kept}


class LearnedWeights(BaseModel):
    """Logistic weighting for the `learned` selector: score = sigmoid(bias + sum w_i * signal_i).

    Signals are normalised to [0, 1] within the instance: votes = kept tests passed / kept tests;
    regression = 1 - failures / max failures in the pool (1 when none fail); cluster = cluster
    size / candidates; verifier = verifier score. A missing signal contributes 0.5 (neutral).
    Defaults are hand-set priors (execution evidence strongest, then verifier, agreement, and
    regressions), not fitted: retrain on your own labeled runs and put the weights here.
    """

    model_config = ConfigDict(extra="forbid")

    bias: float = -4.0
    """Intercept."""
    votes: float = 3.0
    """Weight of the share of kept reproduction tests passed."""
    regression: float = 1.5
    """Weight of the regression signal (1 = no new failures)."""
    cluster: float = 1.5
    """Weight of the cluster share (agreement with other candidates)."""
    verifier: float = 2.5
    """Weight of the execution-free verifier score."""


@dataclass
class Learned:
    """Logistic weighting of normalised signals with `weights` (configured or fitted, see LearnedWeights)."""

    weights: LearnedWeights = field(default_factory=LearnedWeights)
    name: str = "learned"
    needs_verifier: ClassVar[bool] = True

    def features(self, s: Signals, pool: Sequence[Signals]) -> dict[str, float]:
        n = sum(1 for x in pool) or 1
        max_fail = max((x.regression_failures or 0 for x in pool), default=0)
        votes = s.repro_pass / s.repro_total if s.repro_pass is not None and s.repro_total else 0.5
        if s.regression_failures is None:
            reg = 0.5
        else:
            reg = 1.0 - s.regression_failures / max_fail if max_fail else 1.0
        ver = s.verifier_score if s.verifier_score is not None else 0.5
        return {"votes": votes, "regression": reg, "cluster": s.cluster_size / n, "verifier": ver}

    def probability(self, f: dict[str, float]) -> float:
        w = self.weights
        z = w.bias + w.votes * f["votes"] + w.regression * f["regression"]
        z += w.cluster * f["cluster"] + w.verifier * f["verifier"]
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, signals: Sequence[Signals]) -> RuleOutcome:
        alive = [s for s in signals if s.alive]
        if not alive:
            return no_candidate(signals)
        scores = {s.candidate_id: self.probability(self.features(s, alive)) for s in alive}
        pool = keep_best(alive, lambda s: scores[s.candidate_id])
        win = break_tie(pool)
        f = self.features(win, alive)
        reasons = [
            f"{win.candidate_id} has the highest learned score {scores[win.candidate_id]:.3f} "
            f"(votes {f['votes']:.2f}, regression {f['regression']:.2f}, cluster share {f['cluster']:.2f}, "
            f"verifier {f['verifier']:.2f}; next best "
            f"{max((v for k, v in scores.items() if k != win.candidate_id), default=float('nan')):.3f})"
        ]
        tie = tie_reason(pool, win)
        if tie:
            reasons.append(tie)
        return RuleOutcome(win.candidate_id, reasons, scores)

    def regression_contenders(self, signals: Sequence[Signals]) -> set[str] | None:
        """Everyone: every candidate's regression count moves its score."""
        return None


@dataclass
class Single:
    """Baselines on one signal: `verifier` (highest verifier score), `votes` (highest execution
    score), `majority` (largest cluster). Ties by cluster size then candidate id. When the signal was
    not measured for anyone, falls back to the largest cluster and says so."""

    name: str = "majority"

    @property
    def needs_verifier(self) -> bool:
        return self.name == "verifier"

    def decide(self, signals: Sequence[Signals]) -> RuleOutcome:
        alive = [s for s in signals if s.alive]
        if not alive:
            return no_candidate(signals)
        attr = {"verifier": "verifier_score", "votes": "exec_score", "majority": "cluster_size"}[self.name]
        reasons: list[str] = []
        if all(getattr(s, attr) is None for s in alive):
            reasons.append(
                f"{self.name}: no {attr.replace('_', ' ')} measured; falling back to the largest cluster"
            )
            attr = "cluster_size"
        pool = keep_best(alive, lambda s: getattr(s, attr))
        win = pool[0]
        reasons.append(
            f"{', '.join(s.candidate_id for s in pool)}: highest {attr.replace('_', ' ')} {fmt(getattr(win, attr))} "
            f"({_others_best(alive, pool, attr)})"
        )
        return _finish(reasons, pool)

    def regression_contenders(self, signals: Sequence[Signals]) -> set[str] | None:
        """No one: these baselines never read regressions."""
        return set()

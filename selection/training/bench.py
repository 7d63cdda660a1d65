"""Best@K of every selection rule on labeled pools, replayed from saved execution evidence.

For each instance, K-subsets of its pool are enumerated (or `draws` random ones when there are more than
`max_exact`); the rule sees only the subset: its tests, agreement among its members, its cluster sizes, verifier
scores from a model that never saw the instance (grouped folds). Ties among candidates a rule cannot tell apart
average over random candidate ids (the rules' last resort), and every number averages several fold splits.

Methods (`METHODS`): oracle, random, majority vote, verifier only, execution only (exit-code tests, then the
behaviour vote, then fewest regression failures; ties averaged), R2E-Gym's hybrid rule, ours (`staged`), ours
without the behaviour vote (exit-code evidence only: the rule as it was before real agents' tests were read by their
output; regression counts kept), and ours without any execution evidence (clusters, verifier and static checks:
what `patchjury select` does without an environment).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from patchjury.selection.config import SelectionConfig
from patchjury.selection.selectors import Rule, Signals, make_rule
from patchjury.selection.training.bestk import (
    best_at_k,
    majority_value,
    oracle_value,
    pick_value,
    random_value,
)
from patchjury.selection.training.evidence import InstanceEvidence, subset_signals
from patchjury.selection.verifier.features import PoolFeaturizer
from patchjury.selection.verifier.model import VerifierModel

ORACLE, RANDOM, MAJORITY, VERIFIER = "oracle", "random", "majority vote", "verifier only"
EXECUTION, R2E, OURS, OURS_NO_VOTE, OURS_NO_EXEC = (
    "execution only",
    "R2E-Gym hybrid",
    "ours (staged)",
    "ours, exit-code evidence only (no output vote)",
    "ours without execution (clusters + verifier)",
)
METHODS = [ORACLE, RANDOM, MAJORITY, VERIFIER, EXECUTION, R2E, OURS, OURS_NO_VOTE, OURS_NO_EXEC]


@dataclass
class Case:
    """One instance's labeled pool and what the rules may read about it."""

    instance_id: str
    keys: list[str]
    labels: np.ndarray
    featurizer: PoolFeaturizer
    evidence: InstanceEvidence | None = None
    static: list[int | None] | None = None
    regression: dict[str, int | None] = field(default_factory=dict)
    """candidate key -> regression failures measured by earlier runs (same patch)."""

    @property
    def mixed(self) -> bool:
        return 0 < int(self.labels.sum()) < len(self.labels)


def _no_vote(signals: list[Signals]) -> list[Signals]:
    return [replace(s, behaviour=None, crashes=None, oracle_pass=None) for s in signals]


def _no_exec(signals: list[Signals]) -> list[Signals]:
    """Every piece of execution evidence removed (tests, behaviour, regression, patches found not to apply);
    clusters, verifier and static checks stay."""
    return [
        replace(
            s,
            dropped=None if "does not apply" in (s.dropped or "") else s.dropped,
            repro_pass=None,
            repro_total=None,
            distinguishing_pass=None,
            exec_score=None,
            regression_failures=None,
            regression_total=None,
            behaviour=None,
            crashes=None,
            oracle_pass=None,
        )
        for s in signals
    ]


def complete_regression(signals: list[Signals], rule: Rule | None = None) -> list[Signals]:
    """The signals as the rule would have them in `patchjury select`, where every regression contender is measured:
    when saved evidence lacks a count for some contender (`rule.regression_contenders`; every live candidate
    without a rule), no count is used at all, so an unmeasured cluster never loses to a measured one."""
    wanted = rule.regression_contenders(signals) if rule is not None else None
    need = [s for s in signals if s.alive and (wanted is None or s.candidate_id in wanted)]
    if all(s.regression_failures is not None for s in need):
        return signals
    return [replace(s, regression_failures=None, regression_total=None) for s in signals]


def execution_only_value(signals: Sequence[Signals], labels: Sequence[bool]) -> float:
    """Execution alone: most exit-code tests passed, then the highest behaviour vote, then the fewest regression
    failures; ties count as the mean label."""
    alive = [(s, y) for s, y in zip(signals, labels, strict=True) if s.alive]
    if not alive:
        return 0.0
    for key, higher in (
        (lambda s: s.repro_pass, True),
        (lambda s: s.behaviour, True),
        (lambda s: s.regression_failures, False),
    ):
        known = [key(s) for s, _ in alive if key(s) is not None]
        if known:
            best = max(known) if higher else min(known)
            alive = [(s, y) for s, y in alive if key(s) == best]
    return float(np.mean([bool(y) for _, y in alive]))


class Replay:
    """The methods' values on subsets of one case, with one verifier model."""

    def __init__(
        self, case: Case, model: VerifierModel, columns: list[int], rng: np.random.Generator
    ) -> None:
        self.case, self.model, self.columns = case, model, columns
        self.ids = [f"c{v}" for v in rng.permutation(len(case.keys))]
        self.cluster_keys = case.featurizer.cluster_keys()
        self._scores: dict[bytes, np.ndarray] = {}
        self._signals: dict[bytes, list[Signals]] = {}
        self.rules: dict[str, Rule] = {
            R2E: make_rule(SelectionConfig(selector="r2e_hybrid")),
            OURS: make_rule(SelectionConfig(selector="staged")),
        }

    def scores(self, s: np.ndarray) -> np.ndarray:
        key = s.tobytes()
        if key not in self._scores:
            self._scores[key] = self.model.predict_proba(self.case.featurizer.features(s)[:, self.columns])
        return self._scores[key]

    def signals(self, s: np.ndarray) -> list[Signals]:
        """The subset's signals (cached: the rule methods share them; rules never modify them)."""
        key = s.tobytes()
        if key not in self._signals:
            self._signals[key] = self._build(s)
        return self._signals[key]

    def _build(self, s: np.ndarray) -> list[Signals]:
        c = self.case
        keys = [c.keys[i] for i in s]
        ids = [self.ids[i] for i in s]
        static = [c.static[i] for i in s] if c.static is not None else None
        if c.evidence is not None:
            return subset_signals(c.evidence, keys, ids, list(self.scores(s)), static, c.regression)
        sizes: dict[str | None, int] = {}
        for i in s:
            sizes[self.cluster_keys[i]] = sizes.get(self.cluster_keys[i], 0) + 1
        out = []
        for j, i in enumerate(s):
            key = self.cluster_keys[i]
            sig = Signals(ids[j], cluster=0 if key else -1, cluster_size=sizes[key] if key else 0)
            sig.dropped = None if key else "empty or unparsable patch"
            sig.verifier_score = float(self.scores(s)[j])
            sig.static_errors = static[j] if static else None
            out.append(sig)
        return out

    def value(self, method: str, s: np.ndarray) -> float:
        y = self.case.labels[s]
        if method == ORACLE:
            return oracle_value(y)
        if method == RANDOM:
            return random_value(y)
        if method == MAJORITY:
            return majority_value([self.cluster_keys[i] for i in s], y)
        if method == VERIFIER:
            return pick_value(self.scores(s), y, self.case.featurizer.valid[s])
        signals = self.signals(s)
        if method == EXECUTION:
            return execution_only_value(complete_regression(signals), list(y))
        if method in (OURS_NO_VOTE, OURS_NO_EXEC):
            signals = _no_vote(signals) if method == OURS_NO_VOTE else _no_exec(signals)
            method = OURS
        rule = self.rules[method]
        win = rule.decide(complete_regression(signals, rule)).winner
        return float(y[[self.ids[i] for i in s].index(win)]) if win is not None else 0.0


def best_at_k_curves(
    cases: Sequence[Case],
    models: Mapping[str, VerifierModel],
    columns: list[int],
    seed: int,
    draws: int = 150,
    max_exact: int = 150,
    methods: Sequence[str] = METHODS,
    progress: Callable[[str], None] | None = None,
    per_instance: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, list[float]], dict[str, dict[str, float]]]:
    """method -> Best@K for K = 1..max pool size (mean over cases), and instance -> method -> full-pool value."""
    rng = np.random.default_rng(seed)
    n_max = max(len(c.keys) for c in cases)
    per_k: dict[str, list[list[float]]] = {m: [[] for _ in range(n_max)] for m in methods}
    full: dict[str, dict[str, float]] = {}
    for case in cases:
        if progress:
            progress(case.instance_id)
        n = len(case.keys)
        if not case.mixed:  # every pick scores the pool's one label
            for m in methods:
                for k in range(n_max):
                    per_k[m][k].append(float(case.labels[0]))
            full[case.instance_id] = dict.fromkeys(methods, float(case.labels[0]))
            continue
        replay = Replay(case, models[case.instance_id], columns, rng)
        full[case.instance_id] = {}
        for m in methods:

            def value(s: np.ndarray, m: str = m, replay: Replay = replay) -> float:
                return replay.value(m, s)

            for k in range(1, n_max + 1):
                per_k[m][k - 1].append(best_at_k(n, k, value, draws, rng, max_exact))
            full[case.instance_id][m] = per_k[m][n_max - 1][-1]  # K >= pool size: the full pool
    curves = {m: [float(np.mean(v)) for v in per_k[m]] for m in methods}
    if per_instance is not None:  # method -> (cases x K) values, for intervals at every K
        per_instance.update({m: np.array(per_k[m]).T for m in methods})
    return curves, full


def container_minutes(evidence: Mapping[str, InstanceEvidence]) -> float:
    """Container time spent collecting the evidence (workers x wall time of tests and regression)."""
    return sum(e.container_s for e in evidence.values()) / 60.0


def table(curves: Mapping[str, Sequence[float]], methods: Sequence[str]) -> str:
    n = len(next(iter(curves.values())))
    head = "| method | " + " | ".join(f"K={k}" for k in range(1, n + 1)) + " |"
    rows = [head, "|---|" + "---|" * n]
    rows += [
        f"| {m} | " + " | ".join(f"{100 * v:.1f}" for v in curves[m]) + " |" for m in methods if m in curves
    ]
    return "\n".join(rows)


def significant(lo: float, hi: float) -> str:
    return "significant" if lo > 0 or hi < 0 else "within noise"

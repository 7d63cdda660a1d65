"""The evidence a decision rule sees per candidate, the rule contract, and deterministic ranking helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from patchjury.records import CandidateEvidence, Decision


@dataclass
class Signals:
    """All signals gathered for one candidate; `None` means "not measured" (never "zero")."""

    candidate_id: str
    cluster: int = -1
    """Cluster index (-1 when dropped)."""
    cluster_size: int = 0
    """Number of candidates with the same normalized patch."""
    dropped: str | None = None
    """Why the candidate cannot win (empty patch, does not apply...)."""
    repro_pass: int | None = None
    """Kept reproduction tests (exit 2 on the original code) this candidate makes exit 0."""
    repro_total: int | None = None
    """Number of kept reproduction tests."""
    distinguishing_pass: int | None = None
    """Kept tests that split the candidates, passed by this one."""
    exec_score: float | None = None
    """The configured execution score (votes, codet or b4)."""
    regression_failures: int | None = None
    """Related repository tests passing on the original code that fail with this candidate."""
    regression_total: int | None = None
    """Related repository tests that pass on the original code."""
    verifier_score: float | None = None
    """Execution-free verifier score in [0, 1]."""
    static_errors: int | None = None
    """Undefined names and syntax errors the patch introduces (selection.static_check); None when not checked."""
    behaviour: float | None = None
    """Output-differential vote over every test's behaviour (selection.behaviour); None when no test ran."""
    crashes: int | None = None
    """Tests it crashes that ran cleanly on the original code (already counted against `behaviour`)."""
    oracle_pass: int | None = None
    """Tests it passes by their own convention (exit 2 -> 0, Issue reproduced -> resolved, a failure gone)."""
    behaviour_class: int | None = None
    """Its behaviour class (selection.behaviour: identical responses on every informative test), an index into the
    instance's classes; None when no test told the candidates from the original code or it did not run them all."""
    scores: dict[str, float] = field(default_factory=dict)
    """Every other named score (votes, codet, b4, learned...)."""

    @property
    def alive(self) -> bool:
        return self.dropped is None

    def to_evidence(self) -> CandidateEvidence:
        extra = dict(self.scores)
        for key, val in (
            ("repro_total", self.repro_total),
            ("distinguishing_pass", self.distinguishing_pass),
            ("regression_total", self.regression_total),
            ("static_errors", self.static_errors),
            ("behaviour", self.behaviour),
            ("crashes", self.crashes),
            ("oracle_pass", self.oracle_pass),
        ):
            if val is not None:
                extra[key] = float(val)
        return CandidateEvidence(
            candidate_id=self.candidate_id,
            cluster=self.cluster,
            cluster_size=self.cluster_size,
            dropped=self.dropped,
            votes=self.exec_score,
            repro_pass=self.repro_pass,
            regression_failures=self.regression_failures,
            verifier_score=self.verifier_score,
            scores=extra,
        )


@dataclass
class RuleOutcome:
    """What a rule decided: the winner (None if nobody survived), its reasons and any per-candidate score."""

    winner: str | None
    reasons: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    """Rule-specific score per candidate_id (stored in the evidence under the rule's name)."""


class Rule(Protocol):
    """A decision rule over gathered signals. It declares what it needs, so callers never test its class."""

    name: str

    @property
    def needs_verifier(self) -> bool:
        """Whether it reads verifier scores (the pipeline skips the verifier otherwise)."""
        ...

    def decide(self, signals: Sequence[Signals]) -> RuleOutcome: ...

    def regression_contenders(self, signals: Sequence[Signals]) -> set[str] | None:
        """Candidates whose regression count can still change `decide`, given the other signals already in
        `signals` (None: every live candidate; empty: the rule never reads regressions). Running regressions on
        these only must leave every decision unchanged (`regression.scope=contenders`)."""
        ...


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Order ids as people do: c2 before c10."""
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"(\d+)", text) if p)


def tie_key(s: Signals) -> tuple[int, tuple[tuple[int, str], ...]]:
    """Deterministic last resort: larger cluster first, then the smaller candidate_id (natural order)."""
    return (-s.cluster_size, natural_key(s.candidate_id))


def keep_best(
    pool: Sequence[Signals], key: Callable[[Signals], float | None], *, higher: bool = True
) -> list[Signals]:
    """Members of `pool` with the best value of `key`; if no member has a value, the pool unchanged."""
    vals = [(s, key(s)) for s in pool]
    known = [v for _, v in vals if v is not None]
    if not known:
        return list(pool)
    best = max(known) if higher else min(known)
    return [s for s, v in vals if v is not None and v == best]


def break_tie(pool: Sequence[Signals]) -> Signals:
    return sorted(pool, key=tie_key)[0]


def fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.3g}" if isinstance(x, float) and not x.is_integer() else str(int(x))


def no_candidate(signals: Sequence[Signals]) -> RuleOutcome:
    n = len(signals)
    reasons = [f"no candidate survived: all {n} were dropped" if n else "no candidates were given"]
    reasons += [f"{s.candidate_id} dropped: {s.dropped}" for s in signals if s.dropped]
    return RuleOutcome(None, reasons)


def tie_reason(pool: Sequence[Signals], winner: Signals) -> str | None:
    if len(pool) <= 1:
        return None
    others = ", ".join(s.candidate_id for s in pool if s is not winner)
    return (
        f"tie with {others} broken by cluster size then candidate id -> {winner.candidate_id} "
        f"(cluster of {winner.cluster_size})"
    )


def build_decision(
    instance_id: str, method: str, signals: Sequence[Signals], outcome: RuleOutcome, patches: dict[str, str]
) -> Decision:
    """Pack a rule's outcome and the per-candidate evidence into the shared Decision record."""
    evidence = []
    for s in signals:
        if s.candidate_id in outcome.scores:
            s.scores[method] = outcome.scores[s.candidate_id]
        evidence.append(s.to_evidence())
    return Decision(
        instance_id=instance_id,
        method=method,
        winner=outcome.winner,
        model_patch=patches.get(outcome.winner, "") if outcome.winner else "",
        evidence=evidence,
        reasons=outcome.reasons,
    )

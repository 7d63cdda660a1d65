"""Fit the `learned` rule's weights on labeled pools, and measure them out of fold.

The `learned` rule scores each live candidate as sigmoid(bias + w . f) over its own pool-normalised signals
(`Learned.features`: share of kept reproduction tests passed, regression, cluster share, verifier score). Its
shipped weights are hand-set priors; `fit_weights` replaces them by an L2-regularised logistic regression over
the candidates of labeled pools. Only pools whose labels differ carry information about *which* candidate to
pick, so only those are fitted on (pools where every candidate is right, or every one wrong, would only teach the
bias how hard instances are).

`grouped_cv` reports what a user should check before switching: the pick accuracy of the fitted weights on pools
they were not fitted on (grouped K-fold by instance), next to the shipped priors and the `staged` rule on the
same pools. Ties count as the mean correctness of the tied candidates.

Labeled pools come from `patchjury select` output (each prediction row keeps every candidate's evidence under
`scores`) joined with a labels file (`instance_id`, `candidate_id`, `resolved`), see `load_labeled_pools`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from patchjury.records import CandidateEvidence
from patchjury.selection.candidates import json_rows
from patchjury.selection.errors import CandidateFormatError, SelectionConfigError
from patchjury.selection.selectors import Learned, LearnedWeights, Rule, Signals, Staged

FEATURES = ("votes", "regression", "cluster", "verifier")
LabeledPool = tuple[str, list[Signals], list[bool]]
"""(instance_id, the signals the rule saw, resolved per candidate)."""


def signals_from_evidence(e: CandidateEvidence) -> Signals:
    """The rule-side view of one candidate's recorded evidence (inverse of `Signals.to_evidence`)."""
    extra = dict(e.scores)

    def count(key: str) -> int | None:
        val = extra.pop(key, None)
        return None if val is None else int(val)

    return Signals(
        e.candidate_id,
        cluster=e.cluster,
        cluster_size=e.cluster_size,
        dropped=e.dropped,
        repro_pass=e.repro_pass,
        repro_total=count("repro_total"),
        distinguishing_pass=count("distinguishing_pass"),
        exec_score=e.votes,
        regression_failures=e.regression_failures,
        regression_total=count("regression_total"),
        verifier_score=e.verifier_score,
        static_errors=count("static_errors"),
        behaviour=extra.pop("behaviour", None),
        crashes=count("crashes"),
        oracle_pass=count("oracle_pass"),
        scores=extra,
    )


def load_labeled_pools(predictions: Path, labels: Path) -> tuple[list[LabeledPool], list[str]]:
    """Join `patchjury select` predictions (their per-candidate `scores`) with labels.

    `labels` rows need `instance_id`, `candidate_id` and `resolved` (other fields are ignored, so a candidates file
    with a `resolved` field added works). Returns the pools and a note per instance left out (no label for a live
    candidate, or no evidence recorded).
    """
    truth: dict[tuple[str, str], bool] = {}
    for n, row in json_rows(labels):
        try:
            truth[(str(row["instance_id"]), str(row["candidate_id"]))] = bool(row["resolved"])
        except KeyError as exc:
            raise CandidateFormatError(
                f"{labels}:{n}: missing {exc.args[0]!r}; label rows need instance_id, candidate_id and resolved "
                "(candidate ids as in the `scores` of your `patchjury select` output)"
            ) from exc
    pools: list[LabeledPool] = []
    skipped: list[str] = []
    for n, row in json_rows(predictions):
        iid, scores = row.get("instance_id"), row.get("scores")
        if not isinstance(iid, str) or not isinstance(scores, dict):
            raise CandidateFormatError(
                f"{predictions}:{n}: no instance_id/scores; pass the --out file of `patchjury select`"
            )
        try:
            evidence = [CandidateEvidence(candidate_id=c, **e) for c, e in scores.items()]
        except (TypeError, ValidationError) as exc:
            raise CandidateFormatError(
                f"{predictions}:{n}: `scores` is not per-candidate evidence ({exc}); pass the --out file of "
                "`patchjury select`"
            ) from exc
        signals = [signals_from_evidence(e) for e in evidence]
        live = [s for s in signals if s.alive]
        missing = [s.candidate_id for s in live if (iid, s.candidate_id) not in truth]
        if not live or missing:
            skipped.append(
                f"{iid}: " + (f"no label for {', '.join(missing)}" if missing else "no live candidate")
            )
            continue
        pools.append((iid, live, [truth[(iid, s.candidate_id)] for s in live]))
    return pools, skipped


def design(pools: Sequence[LabeledPool]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows (FEATURES order) and labels of the live candidates of pools whose labels differ."""
    rule = Learned()
    xs: list[list[float]] = []
    ys: list[bool] = []
    for _, signals, labels in pools:
        live = [(s, y) for s, y in zip(signals, labels, strict=True) if s.alive]
        if len({y for _, y in live}) < 2:
            continue
        for s, y in live:
            f = rule.features(s, [x for x, _ in live])
            xs.append([f[k] for k in FEATURES])
            ys.append(y)
    return np.asarray(xs, dtype=float).reshape(-1, len(FEATURES)), np.asarray(ys, dtype=bool)


def fit_weights(pools: Sequence[LabeledPool], c: float = 1.0) -> LearnedWeights:
    """Logistic weights for the `learned` rule from the pools whose labels differ (raises if there are none)."""
    from sklearn.linear_model import LogisticRegression

    x, y = design(pools)
    if not len(y):
        raise SelectionConfigError(
            f"none of the {len(pools)} labeled pool(s) has both a resolved and an unresolved candidate, so there is "
            "nothing to learn about which candidate to pick; label more instances"
        )
    model = LogisticRegression(C=c, max_iter=1000).fit(x, y)
    w = dict(zip(FEATURES, (float(v) for v in model.coef_[0]), strict=True))
    return LearnedWeights(bias=float(model.intercept_[0]), **w)


def pick_accuracy(rule: Rule, signals: Sequence[Signals], labels: Sequence[bool]) -> float:
    """Correctness of the rule's pick; candidates the rule cannot tell apart count as the mean of their labels.

    Every rule's last resort is the candidate id, so the pick is taken under every rotation of the ids: each tied
    candidate gets the smallest id once and is then the one picked."""
    truth = {s.candidate_id: y for s, y in zip(signals, labels, strict=True)}
    picks = (_pick(rule, signals, shift) for shift in range(len(signals)))
    tied = sorted({c for c in picks if c is not None})
    if not tied:
        return 0.0
    return float(np.mean([truth[c] for c in tied]))


def _pick(rule: Rule, signals: Sequence[Signals], shift: int) -> str | None:
    ids = [s.candidate_id for s in signals]
    renamed = {c: f"c{(i + shift) % len(ids):04d}" for i, c in enumerate(ids)}
    back = {v: k for k, v in renamed.items()}
    moved = [replace(s, candidate_id=renamed[s.candidate_id]) for s in signals]
    win = rule.decide(moved).winner
    return back[win] if win is not None else None


@dataclass
class CVReport:
    """Grouped K-fold pick accuracy on the pools whose labels differ (where the pick matters)."""

    pools: int
    folds: int
    fitted: float
    prior: float
    staged: float
    per_fold: list[LearnedWeights] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"out-of-fold pick accuracy on {self.pools} pools where the labels differ ({self.folds}-fold, grouped by "
            "instance):",
            f"  learned, fitted weights   {100 * self.fitted:.1f}%",
            f"  learned, shipped priors   {100 * self.prior:.1f}%",
            f"  staged                    {100 * self.staged:.1f}%",
        ]


def grouped_cv(pools: Sequence[LabeledPool], folds: int = 5, c: float = 1.0, seed: int = 0) -> CVReport:
    """Fit on K-1 folds of instances, score the picks on the held-out fold; mixed pools only."""
    mixed = [p for p in pools if len(set(p[2])) == 2]
    k = min(folds, len(mixed))
    if k < 2:
        raise SelectionConfigError(
            f"grouped cross-validation needs at least 2 pools whose labels differ, got {len(mixed)}; label more "
            "instances (or skip the check)"
        )
    order = np.random.default_rng(seed).permutation(len(mixed))
    fold_of = {int(j): i % k for i, j in enumerate(order)}
    prior, staged = Learned(), Staged()
    got: dict[str, list[float]] = {"fitted": [], "prior": [], "staged": []}
    fitted: list[LearnedWeights] = []
    for f in range(k):
        train = [p for j, p in enumerate(mixed) if fold_of[j] != f]
        weights = fit_weights(train, c)
        fitted.append(weights)
        rule = Learned(weights)
        for _, signals, labels in (p for j, p in enumerate(mixed) if fold_of[j] == f):
            got["fitted"].append(pick_accuracy(rule, signals, labels))
            got["prior"].append(pick_accuracy(prior, signals, labels))
            got["staged"].append(pick_accuracy(staged, signals, labels))
    mean = {name: float(np.mean(v)) for name, v in got.items()}
    return CVReport(len(mixed), k, mean["fitted"], mean["prior"], mean["staged"], fitted)

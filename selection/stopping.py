"""When the jury is sure enough to stop sampling trajectories (adaptive compute, agent.adaptive).

After each wave the jury scores the candidates that exist (clusters, verifier, static checks: no containers) and
this rule says how confident its decision is. Two kinds of evidence, used alone or together (`rule`):

- `stability`: would more samples change the pick? The trajectories still allowed (`budget - k`) are drawn from the
  same agent, so we model their patches as a Chinese-restaurant (Polya urn) process over behaviour classes
  (`class_of`: identical outputs on every informative test where the jury ran tests, else identical normalized
  patches): the next sample joins a class of size n_j with probability n_j / (k + alpha) and
  opens a new one with alpha / (k + alpha). The confidence is the exact probability that the winner's class still
  strictly leads every other class once the whole budget is drawn (ties count half). It is 0 unless the winner's
  class leads now. With alpha 1: 2 agreeing samples of 2 with 7 to go give 0.90, 2 of 3 (the third alone) with 6 to
  go 0.75, 3 of 5 (two singletons) with 4 to go 0.90.
- `verifier`: is the pick right? The trained verifier's score of the winner (a calibrated P(resolved)).
- `either` (default): the larger of the two.

Execution evidence can veto: a winner that passes fewer kept reproduction tests than another live candidate, or
has more regression failures than the best known count, is not a settled decision (confidence 0). The rule never
sees labels, provenance or gold fields: only the Signals the jury itself computed.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from patchjury.selection.selectors import Signals

StopRuleName = Literal["stability", "verifier", "either"]
"""`stability` (more samples would not change the pick), `verifier` (the pick looks right), `either` (the larger).
Its settings (rule, threshold, alpha) are agent.adaptive.AdaptiveConfig's: the `adaptive:` section is the one
place a user sets them."""


@dataclass
class Confidence:
    """How sure the jury is of its current pick, and why."""

    value: float
    stability: float
    verifier: float | None
    reason: str
    vetoed: bool = False
    """Execution evidence says another candidate is better: not a settled decision, whatever the rest says."""


@functools.lru_cache(maxsize=200_000)
def _stays(winner: int, others: tuple[int, ...], remaining: int, alpha: float) -> float:
    """P(the winner's class strictly leads after `remaining` more draws); `others` sorted descending."""
    if remaining == 0:
        top = max(others, default=0)
        return 1.0 if winner > top else (0.5 if winner == top else 0.0)
    if winner - (others[0] if others else 0) > remaining:
        return 1.0  # nobody (not even a class still to open) can catch up any more
    total = winner + sum(others) + alpha
    p = winner / total * _stays(winner + 1, others, remaining - 1, alpha)
    for j, size in enumerate(others):
        if j and size == others[j - 1]:
            continue  # same size as the previous class: same outcome, counted below
        same = others.count(size)
        grown = tuple(sorted((*others[:j], size + 1, *others[j + 1 :]), reverse=True))
        p += same * size / total * _stays(winner, grown, remaining - 1, alpha)
    new = tuple(sorted((*others, 1), reverse=True))
    return p + alpha / total * _stays(winner, new, remaining - 1, alpha)


def stability(classes: Sequence[object], winner_class: object, budget: int, alpha: float = 1.0) -> float:
    """P(the winner's class would still strictly lead once `budget` samples are drawn), 0 unless it leads now.
    `classes`: the behaviour class of every live candidate drawn so far."""
    counts = Counter(classes)
    mine = counts.pop(winner_class, 0)
    others = tuple(sorted(counts.values(), reverse=True))
    if not mine or (others and others[0] >= mine):
        return 0.0
    return _stays(mine, others, max(0, budget - len(classes)), alpha)


def class_of(s: Signals) -> tuple[str, int]:
    """The candidate's behaviour class: by what its tests showed when they told candidates apart (execution ran and
    some test was informative), else by its normalized patch (identical patches behave alike)."""
    if s.behaviour_class is not None:
        return ("behaviour", s.behaviour_class)
    return ("patch", s.cluster)


def _vetoed(signals: Sequence[Signals], win: Signals) -> str:
    alive = [s for s in signals if s.alive]
    best_repro = max((s.repro_pass or 0 for s in alive), default=0)
    if (win.repro_pass or 0) < best_repro:
        return (
            f"another candidate passes more kept reproduction tests ({best_repro} vs {win.repro_pass or 0})"
        )
    known = [s.regression_failures for s in alive if s.regression_failures is not None]
    if win.regression_failures is not None and known and win.regression_failures > min(known):
        return f"another candidate breaks fewer related tests ({min(known)} vs {win.regression_failures})"
    return ""


def confidence(
    signals: Sequence[Signals],
    winner: str | None,
    budget: int,
    rule: StopRuleName = "either",
    alpha: float = 1.0,
) -> Confidence:
    """The jury's confidence in `winner` among `signals` (the candidates so far) with `budget` samples in all, by
    `rule`; `alpha` is the behaviour-class model's concentration (how readily a new sample writes a patch unlike
    any before)."""
    win = next((s for s in signals if s.candidate_id == winner), None)
    if win is None or not win.alive:
        return Confidence(0.0, 0.0, None, "no live candidate yet")
    veto = _vetoed(signals, win)
    classes = [class_of(s) for s in signals if s.alive]
    stab = stability(classes, class_of(win), budget, alpha)
    ver = win.verifier_score
    if veto:
        return Confidence(0.0, stab, ver, veto, vetoed=True)
    parts = {"stability": stab, "verifier": ver if ver is not None else 0.0}
    value = parts[rule] if rule != "either" else max(parts.values())
    lead = Counter(classes)[class_of(win)]
    reason = (
        f"its behaviour class holds {lead} of {len(classes)} live candidates (P(still leading after {budget}) = "
        f"{stab:.2f})" + (f", verifier {ver:.2f}" if ver is not None else "")
    )
    return Confidence(value, stab, ver, reason)

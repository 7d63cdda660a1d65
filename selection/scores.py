"""Execution scores over a pass matrix, selectable by name: `votes`, `codet`, `b4`.

Input is a boolean table: one row per *subject* (a cluster representative standing for
`weight` identical candidates), one column per kept reproduction test (a test that exits 2,
"issue reproduced", on the original code). `True` means the test exited 0 on that subject.

- `votes` (CodeMonkeys): the number of kept tests the subject passes.
- `codet` (CodeT dual agreement, Chen et al. 2022, "CodeT: Code Generation with Generated Tests"):
  subjects with identical pass patterns form a consensus set S = (S_x, S_y); S_x are the
  candidates (counting every member of every cluster), S_y the tests they all pass. The paper's
  score is f(S) = |S_x| * |S_y| (`variant="product"`); the variant popularised in later work
  uses |S_y| * sqrt(|S_x|) (`variant="sqrt"`). Every subject gets the score of its set.
- `b4` (B4-style posterior; after Chen et al. 2024, "B4: Towards Optimal Assessment of Plausible
  Code Solutions with Plausible Tests", arXiv:2409.08692). See `b4_scores` for the exact model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from patchjury.selection.errors import SelectionConfigError

Matrix = Mapping[str, Sequence[bool]]
"""subject id -> pass (exit 0) per kept test."""
Weights = Mapping[str, int]
"""subject id -> how many candidates it stands for (its cluster size)."""


class B4Config(BaseModel):
    """Priors of the B4-style posterior score (see `b4_scores`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    theta_x: float = Field(default=0.5, gt=0, lt=1)
    """Prior probability that a candidate patch is correct (0.5 = no preference for group size)."""
    theta_y: float = Field(default=0.6, gt=0, lt=1)
    """Prior probability that a kept reproduction test is correct."""
    wrong_pass_a: float = Field(default=1.0, gt=0)
    """Beta(a, b) prior on how often incorrect patches pass a correct test: a (mean a / (a + b))."""
    wrong_pass_b: float = Field(default=4.0, gt=0)
    """Beta(a, b) prior on how often incorrect patches pass a correct test: b."""


def _patterns(matrix: Mapping[str, Sequence[bool]]) -> dict[tuple[bool, ...], list[str]]:
    groups: dict[tuple[bool, ...], list[str]] = {}
    for sid in sorted(matrix):
        groups.setdefault(tuple(bool(v) for v in matrix[sid]), []).append(sid)
    return groups


def _check(matrix: Mapping[str, Sequence[bool]], weights: Mapping[str, int]) -> int:
    widths = {len(row) for row in matrix.values()}
    if len(widths) > 1:
        raise SelectionConfigError(
            f"pass matrix rows have different lengths {sorted(widths)}: every subject must have one "
            "outcome per kept test"
        )
    for sid in matrix:
        if weights.get(sid, 1) < 1:
            raise SelectionConfigError(f"weight of {sid!r} must be >= 1 (cluster size), got {weights[sid]}")
    return widths.pop() if widths else 0


def votes_scores(matrix: Mapping[str, Sequence[bool]]) -> dict[str, float]:
    """CodeMonkeys vote count: kept tests passed."""
    _check(matrix, {})
    return {sid: float(sum(bool(v) for v in row)) for sid, row in matrix.items()}


def codet_scores(
    matrix: Mapping[str, Sequence[bool]],
    weights: Mapping[str, int] | None = None,
    variant: Literal["product", "sqrt"] = "product",
) -> dict[str, float]:
    """CodeT dual agreement: |S_y| * |S_x| (or |S_y| * sqrt(|S_x|)) of the subject's consensus set."""
    weights = weights or {}
    _check(matrix, weights)
    out: dict[str, float] = {}
    for pattern, sids in _patterns(matrix).items():
        n_x = sum(weights.get(s, 1) for s in sids)
        n_y = sum(pattern)
        score = n_y * (n_x if variant == "product" else math.sqrt(n_x))
        out.update({s: float(score) for s in sids})
    return out


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _log_bb(k: float, n: float, a: float, b: float) -> float:
    """log probability of one particular sequence of n Bernoulli outcomes with k successes, p ~ Beta(a, b)."""
    return _log_beta(k + a, n - k + b) - _log_beta(a, b)


def b4_log_scores(
    matrix: Mapping[str, Sequence[bool]],
    weights: Mapping[str, int] | None = None,
    params: B4Config = B4Config(),
) -> dict[tuple[bool, ...], float]:
    """Unnormalised log posterior of each pass pattern (see `b4_scores`)."""
    weights = weights or {}
    n_tests = _check(matrix, weights)
    p = params
    groups = _patterns(matrix)
    size = {pat: sum(weights.get(s, 1) for s in sids) for pat, sids in groups.items()}
    logit = lambda q: math.log(q / (1.0 - q))  # noqa: E731
    out: dict[tuple[bool, ...], float] = {}
    for pattern in groups:
        n_out = sum(w for other, w in size.items() if other != pattern)
        log_p = size[pattern] * logit(p.theta_x) + sum(pattern) * logit(p.theta_y)
        for j in range(n_tests):
            k = sum(w for other, w in size.items() if other != pattern and other[j])
            if pattern[j]:
                log_p += _log_bb(k, n_out, p.wrong_pass_a, p.wrong_pass_b)
            else:
                log_p += _log_bb(k, n_out, 1.0, 1.0)
        out[pattern] = log_p
    return out


def b4_scores(
    matrix: Mapping[str, Sequence[bool]],
    weights: Mapping[str, int] | None = None,
    params: B4Config = B4Config(),
) -> dict[str, float]:
    """B4-style posterior P(the subject's pass-pattern group is the correct one | pass matrix).

    After B4 (Chen et al. 2024, arXiv:2409.08692): a Bayesian view of the passing matrix E with Beta
    priors integrated out, under B4's consistency assumption (a correct patch passes every correct test).
    Our hypothesis space: exactly one pass-pattern group g is correct. Under H_g the correct tests are
    exactly S_y(g), the tests g passes, and every candidate outside g is incorrect. Priors: each
    candidate correct with theta_x, each test correct with theta_y. Likelihood of the outsiders'
    outcomes (members of g are determined by H_g):
      - on a correct test t: incorrect patches pass with an unknown rate p_t ~ Beta(a, b), a/(a+b)
        small (wrong code rarely passes a correct test);
      - on an incorrect test t: pass rate q_t ~ Beta(1, 1) (no knowledge).
    Integrating p_t, q_t out, with n = number of outsiders and k_t = outsiders passing t,

        log P(H_g | E) = |S_x(g)| logit(theta_x) + |S_y(g)| logit(theta_y)
                       + sum_{t in S_y(g)}  [log B(k_t + a, n - k_t + b) - log B(a, b)]
                       + sum_{t not in S_y(g)} [log B(k_t + 1, n - k_t + 1) - log B(1, 1)]   + const

    (B = the Beta function; candidates counted with cluster multiplicity). Scores are the softmax
    over groups, so they sum to 1 over groups. This is the exact posterior of this simplified model,
    not the paper's closed-form approximation of its own (richer) model.
    """
    logs = b4_log_scores(matrix, weights, params)
    if not logs:
        return {}
    top = max(logs.values())
    z = sum(math.exp(v - top) for v in logs.values())
    return {sid: math.exp(logs[tuple(bool(v) for v in row)] - top) / z for sid, row in matrix.items()}


class ScoreSettings(Protocol):
    """What the execution scores read from the selection config (SelectionConfig has these fields)."""

    @property
    def codet_variant(self) -> Literal["product", "sqrt"]: ...
    @property
    def b4(self) -> B4Config: ...


ScoreFn = Callable[[Matrix, Weights, ScoreSettings], dict[str, float]]

SCORES: dict[str, ScoreFn] = {
    "votes": lambda matrix, weights, settings: votes_scores(matrix),
    "codet": lambda matrix, weights, settings: codet_scores(matrix, weights, settings.codet_variant),
    "b4": lambda matrix, weights, settings: b4_scores(matrix, weights, settings.b4),
}
"""Execution scores by name (`SelectionConfig.scores`); every one is computed and stored in the evidence."""


class _Defaults:
    codet_variant: Literal["product", "sqrt"] = "product"
    b4 = B4Config()


def check_score_name(name: str) -> str:
    """`name` when it names an execution score, else SelectionConfigError listing them."""
    if name not in SCORES:
        raise SelectionConfigError(f"unknown score {name!r}: choose one of {', '.join(SCORES)}")
    return name


def compute_scores(
    name: str, matrix: Matrix, weights: Weights | None = None, settings: ScoreSettings | None = None
) -> dict[str, float]:
    """Scores by name (`votes`, `codet`, `b4`); a subject missing from `matrix` gets no score."""
    return SCORES[check_score_name(name)](matrix, weights or {}, settings or _Defaults())

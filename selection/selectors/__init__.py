"""Decision rules by name: `RULES` is the one name -> factory map; `make_rule(config)` returns the configured rule.

A rule declares what it needs (`needs_verifier`, `regression_contenders`), so callers never test its class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from patchjury.selection.errors import SelectionConfigError
from patchjury.selection.selectors.base import Rule, RuleOutcome, Signals, build_decision
from patchjury.selection.selectors.rules import Learned, LearnedWeights, R2EHybrid, Single, Staged

__all__ = [
    "RULES",
    "Learned",
    "LearnedWeights",
    "R2EHybrid",
    "Rule",
    "RuleOutcome",
    "RuleSettings",
    "Signals",
    "Single",
    "Staged",
    "build_decision",
    "check_rule_name",
    "make_rule",
]


class RuleSettings(Protocol):
    """What the rules' factories read from the selection config (SelectionConfig has these fields)."""

    @property
    def selector(self) -> str: ...
    @property
    def k_min(self) -> int: ...
    @property
    def k_fraction(self) -> float: ...
    @property
    def learned(self) -> LearnedWeights: ...


RULES: dict[str, Callable[[RuleSettings], Rule]] = {
    "staged": lambda cfg: Staged(),
    "r2e_hybrid": lambda cfg: R2EHybrid(k_min=cfg.k_min, k_fraction=cfg.k_fraction),
    "learned": lambda cfg: Learned(cfg.learned),
    "verifier": lambda cfg: Single("verifier"),
    "votes": lambda cfg: Single("votes"),
    "majority": lambda cfg: Single("majority"),
}
"""Every decision rule by the name `SelectionConfig.selector` (and `--selector`) accepts: staged (ours), r2e_hybrid
(R2E-Gym), learned (fitted weights), and the single-signal baselines verifier, votes, majority."""


def check_rule_name(name: str) -> str:
    """`name` when a rule has it, else SelectionConfigError listing the rules."""
    if name not in RULES:
        raise SelectionConfigError(f"unknown selector {name!r}: choose one of {', '.join(RULES)}")
    return name


def make_rule(config: RuleSettings, name: str | None = None) -> Rule:
    """The rule named `name` (default `config.selector`), parameterised from `config`."""
    return RULES[check_rule_name(name or config.selector)](config)

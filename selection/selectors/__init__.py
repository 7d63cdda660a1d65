"""Decision rules by name. `make_rule(config)` returns the configured one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patchjury.selection.errors import SelectionConfigError
from patchjury.selection.selectors.base import Rule, RuleOutcome, Signals, build_decision
from patchjury.selection.selectors.rules import Learned, R2EHybrid, Single, Staged

if TYPE_CHECKING:
    from patchjury.selection.config import SelectionConfig

__all__ = [
    "Learned",
    "R2EHybrid",
    "Rule",
    "RuleOutcome",
    "Signals",
    "Single",
    "Staged",
    "build_decision",
    "make_rule",
]


def make_rule(config: SelectionConfig, name: str | None = None) -> Rule:
    """The rule named `name` (default `config.selector`), parameterised from `config`."""
    name = name or config.selector
    if name == "r2e_hybrid":
        return R2EHybrid(k_min=config.k_min, k_fraction=config.k_fraction)
    if name == "staged":
        return Staged()
    if name == "learned":
        return Learned.of(config.learned)
    if name in ("verifier", "votes", "majority"):
        return Single(name=name)
    raise SelectionConfigError(
        f"unknown selector {name!r}: choose one of staged, r2e_hybrid, learned, verifier, votes, majority"
    )

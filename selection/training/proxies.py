"""Features excluded from the default verifier because they identify the producing system, not correctness.

The honesty rule forbids reaching a number through which system produced a candidate, directly or by proxy. On a
multi-system training pool a patch property can act as such a proxy: it separates one system's patches from the
others' while telling little about whether a patch is right. `scripts/audit_verifier_features.py` measures, for
every feature, the one-vs-rest AUROC of predicting the producing system (max over systems, direction-free) and the
AUROC of predicting `resolved`; the rule below decides the exclusions. The audit and its table are in
docs/selection-benchmark.md.
"""

from __future__ import annotations

SYSTEM_AUROC_MIN = 0.65
"""A feature is a system proxy when some system is separated from the others at this direction-free AUROC or more."""

LABEL_AUROC_MAX = 0.60
"""... and its direction-free AUROC for the label stays below this (weak evidence of correctness)."""

PROXY_FEATURES: tuple[str, ...] = (
    "raw_touches_tests",
    "raw_adds_scratch",
    "comment_lines_added",
    "size_rel_median",
    "rel_log_removed",
)
"""Excluded by default from training (`scripts/train_verifier.py`, `patchjury verifier train`); the shipped
artifact gives them weight 0. Result of the audit on lite_candidates_train.jsonl.gz (see the module docstring)."""


def is_proxy(system_auroc: float, label_auroc: float) -> bool:
    """The exclusion rule, on direction-free AUROCs (max(a, 1 - a))."""
    return system_auroc >= SYSTEM_AUROC_MIN and label_auroc < LABEL_AUROC_MAX

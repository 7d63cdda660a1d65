"""Features excluded from the default verifier because they identify the producing system, not correctness.

The honesty rule forbids reaching a number through which system produced a candidate, directly or by proxy. On a
multi-system training pool a patch property can act as such a proxy: it separates one system's patches from the
others' while telling little about whether a patch is right. `scripts/audit_verifier_features.py` measures, for
every feature, the one-vs-rest AUROC of predicting the producing system (max over systems, direction-free) and the
AUROC of predicting `resolved`; the rule below decides the exclusions. The audit and its table are in
docs/selection-benchmark.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


def free_auroc(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """(direction-free AUROC, signed AUROC); 0.5 when x is constant or y has one class."""
    from sklearn.metrics import roc_auc_score

    if len(set(y.tolist())) < 2 or np.ptp(x) == 0:
        return 0.5, 0.5
    a = float(roc_auc_score(y, x))
    return max(a, 1 - a), a


@dataclass
class AuditRow:
    feature: str
    system_auroc: float
    system_signed: float
    system: str
    label_auroc: float
    label_signed: float

    @property
    def proxy(self) -> bool:
        return is_proxy(self.system_auroc, self.label_auroc)


def audit(X: np.ndarray, y: np.ndarray, producers: Sequence[str], names: Sequence[str]) -> list[AuditRow]:
    """Per feature (column of X): the one-vs-rest AUROC of the producer that feature separates best, and the
    AUROC of the label, most system-separating first. `producers` (system or run per row) are read only here."""
    who = np.asarray(producers)
    rows = []
    for j, name in enumerate(names):
        per = {p: free_auroc(who == p, X[:, j]) for p in sorted(set(who.tolist()))}
        top = max(per, key=lambda p: per[p][0])
        lab, lab_signed = free_auroc(y, X[:, j])
        rows.append(AuditRow(name, per[top][0], per[top][1], top, lab, lab_signed))
    return sorted(rows, key=lambda r: -r.system_auroc)

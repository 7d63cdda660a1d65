"""Which candidates still need the regression run once the cheaper signals are in (`regression.scope=contenders`;
used by selection.pipeline)."""

from __future__ import annotations

from patchjury.selection.config import SelectionConfig
from patchjury.selection.selectors import Signals, make_rule


def contenders(
    applying: dict[str, str],
    reps: dict[str, list[str]],
    signals: dict[str, Signals],
    config: SelectionConfig,
    notes: list[str],
) -> dict[str, str]:
    """The applying cluster representatives whose regression count can still change the decision."""
    wanted = make_rule(config).regression_contenders(list(signals.values()))
    if wanted is None:
        return applying
    keep = {rep: patch for rep, patch in applying.items() if any(cid in wanted for cid in reps[rep])}
    skipped = [rep for rep in applying if rep not in keep]
    if skipped:
        notes.append(
            f"regression not run for {', '.join(skipped)}: out of contention for `{config.selector}` after the "
            "cheaper signals (regression.scope=contenders; `all` runs every candidate)"
        )
    return keep

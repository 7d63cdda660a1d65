"""Turn gathered evidence into the rules' per-candidate signals and the decision's notes (used by selection.pipeline):
pass-matrix rows -> reproduction signals and scores, what the tests amounted to, and which candidates still need
the regression run (`regression.scope=contenders`)."""

from __future__ import annotations

from patchjury.selection.config import SelectionConfig
from patchjury.selection.execution import PassMatrix
from patchjury.selection.scores import SCORES, compute_scores
from patchjury.selection.selectors import Signals, make_rule


def exec_signals(
    signals: dict[str, Signals], reps: dict[str, list[str]], matrix: PassMatrix, config: SelectionConfig
) -> None:
    """Mark non-applying clusters dropped; give every member of an applying cluster its representative's row:
    kept tests passed, distinguishing tests passed, and the votes/codet/b4 scores."""
    for rep, why in matrix.apply_failures.items():
        for cid in reps[rep]:
            signals[cid].dropped = why if why.startswith("patch does not apply") else f"does not apply: {why}"
    applying = matrix.applying()
    if not matrix.kept:
        return  # no test reproduces the issue: execution says nothing about the fix (not "zero votes")
    rows = {s: matrix.row(s) for s in applying}
    weights = {s: len(reps[s]) for s in applying}
    named = {name: compute_scores(name, rows, weights, config) for name in SCORES}
    for rep in applying:
        for cid in reps[rep]:
            s = signals[cid]
            s.repro_total = len(matrix.kept)
            s.repro_pass = sum(rows[rep])
            s.distinguishing_pass = sum(matrix.row(rep, matrix.distinguishing))
            s.exec_score = named[config.scores].get(rep)
            s.scores.update({name: vals[rep] for name, vals in named.items() if rep in vals})


def test_notes(own: int, derived: int, pruned: list[str], matrix: PassMatrix) -> list[str]:
    """What the reproduction tests amounted to, for the decision's reasons."""
    notes = []
    if not own and not derived:
        return [
            "no candidate came with reproduction tests: only patch application was checked",
            "no reproduction tests from the issue text either (no runnable code with shown output or traceback)",
        ]
    if not own:
        notes.append(
            f"no candidate came with reproduction tests; {derived} test(s) generated from the issue text"
        )
    elif derived:
        notes.append(f"{own} candidate test(s) plus {derived} generated from the issue text")
    if pruned:
        notes.append(
            f"issue-derived test(s) reproducing on every candidate ignored (no candidate passes): {', '.join(pruned)}"
        )
    if not matrix.kept:
        notes.append(f"none of the {own + derived} reproduction tests exits 2 on the original code")
    else:
        kept_issue = [t for t in matrix.kept if t.startswith(("issue/", "hints/"))]
        if kept_issue:
            notes.append(f"kept issue-derived test(s): {', '.join(kept_issue)}")
    return notes


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

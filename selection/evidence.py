"""Evidence kinds side by side behind one small protocol: each fills the signals it owns, adds its lines to the
decision's reasons and its section to the explanation.

| kind | source | signals it fills |
|---|---|---|
| `static` | selection.static_check (no execution) | static_errors |
| `execution` | selection.execution pass matrix, exit-code tests | dropped (does not apply), repro_pass/total, distinguishing_pass, exec_score, votes/codet/b4 |
| `behaviour` | the same runs, every test's output (selection.behaviour) | behaviour, crashes, oracle_pass |
| `regression` | selection.regression | regression_failures/total |

`members` maps each cluster representative (the subject that ran) to the candidates it stands for; every member
gets its representative's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from patchjury.selection.behaviour import Behaviour, behaviour_section
from patchjury.selection.outputs import normalize
from patchjury.selection.pass_matrix import ORIGINAL, PassMatrix
from patchjury.selection.regression import RegressionReport
from patchjury.selection.scores import SCORES, ScoreSettings, compute_scores
from patchjury.selection.selectors import Signals
from patchjury.selection.static_check import StaticReport, error_count

Members = Mapping[str, Sequence[str]]


class Evidence(Protocol):
    """One kind of evidence about an instance's candidates."""

    kind: str

    def apply(self, signals: Mapping[str, Signals], members: Members) -> None:
        """Fill the signals this kind owns, for every member of every subject it measured."""
        ...

    def notes(self) -> list[str]:
        """Lines for the decision's reasons."""
        ...

    def section(self) -> list[str]:
        """Markdown lines for the explanation (empty: nothing to show)."""
        ...


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass
class StaticEvidence:
    """Static-check reports per subject."""

    reports: Mapping[str, StaticReport | None]
    kind: str = "static"

    def apply(self, signals: Mapping[str, Signals], members: Members) -> None:
        for subject, report in self.reports.items():
            for cid in members.get(subject, ()):
                signals[cid].static_errors = error_count(report)

    def notes(self) -> list[str]:
        """One note per subject whose patch introduces undefined names or syntax errors."""
        out = []
        for cid, report in self.reports.items():
            if report is None or not report.checked:
                continue
            found = []
            if report.undefined_names:
                names = ", ".join(f"`{n}`" for n in sorted(set(report.undefined_names)))
                found.append(f"undefined name(s) {names}")
            if report.syntax_errors:
                found.append(f"a syntax error in {report.syntax_errors} file(s)")
            if found:
                out.append(f"static: {cid} introduces {' and '.join(found)}")
        return out

    def section(self) -> list[str]:
        return []


def incidents_of(m: PassMatrix) -> list[str]:
    """One line per test and unusual outcome, naming the subjects it happened on: timed out (killed), output cut
    (printed more than the environment keeps), or the note a run left (the environment replaced...)."""
    found: dict[tuple[str, str], list[str]] = {}
    for t in m.tests:
        for s in m.subjects:
            c = m.cell(s, t.test_id)
            if c is None:
                continue
            whats = []
            if c.timed_out:
                whats.append("timed out and was killed")
            if c.truncated:
                whats.append("printed more output than is kept: cut to its head and tail")
            if c.note:
                note = " ".join(normalize(c.note).split())  # one line per cause, whatever the temp path
                whats.append(note if len(note) <= 240 else note[:170] + " ... " + note[-60:])
            for what in whats:
                found.setdefault((t.test_id, what), []).append(s)
    return [f"{test}: {what} on {', '.join(subs)}" for (test, what), subs in found.items()]


_SYMBOL = {"pass": "pass", "fail": "FAIL(2)", "error": "error", "timeout": "timeout", "not_run": "-"}


@dataclass
class ExecutionEvidence:
    """The pass matrix read under our exit-code convention (0 resolved, 2 reproduced)."""

    matrix: PassMatrix
    settings: ScoreSettings
    own: int = 0
    """Tests the candidates carried."""
    derived: int = 0
    """Tests derived from the issue text."""
    pruned: list[str] = field(default_factory=list)
    kind: str = "execution"

    def apply(self, signals: Mapping[str, Signals], members: Members) -> None:
        """Non-applying subjects are dropped; applying ones get their kept-test row and the execution scores."""
        m = self.matrix
        for rep, why in m.apply_failures.items():
            for cid in members[rep]:
                signals[cid].dropped = (
                    why if why.startswith("patch does not apply") else f"does not apply: {why}"
                )
        if not m.kept:
            return  # no test reproduces the issue by exiting 2: this kind says nothing about the fix
        applying = m.applying()
        rows = {s: m.row(s) for s in applying}
        weights = {s: len(members[s]) for s in applying}
        named = {name: compute_scores(name, rows, weights, self.settings) for name in SCORES}
        configured = getattr(self.settings, "scores", "votes")
        for rep in applying:
            for cid in members[rep]:
                s = signals[cid]
                s.repro_total = len(m.kept)
                s.repro_pass = sum(rows[rep])
                s.distinguishing_pass = sum(m.row(rep, m.distinguishing))
                s.exec_score = named[configured].get(rep)
                s.scores.update({name: vals[rep] for name, vals in named.items() if rep in vals})

    def notes(self) -> list[str]:
        own, derived, m = self.own, self.derived, self.matrix
        if not own and not derived:
            return [
                "no candidate came with reproduction tests: only patch application was checked",
                "no reproduction tests from the issue text either (no runnable code with shown output or traceback)",
            ]
        out = []
        if not own:
            out.append(
                f"no candidate came with reproduction tests; {derived} test(s) generated from the issue text"
            )
        elif derived:
            out.append(f"{own} candidate test(s) plus {derived} generated from the issue text")
        if self.pruned:
            out.append(
                "issue-derived test(s) reproducing on every candidate ignored (no candidate passes): "
                + ", ".join(self.pruned)
            )
        if not m.kept:
            out.append(
                f"none of the {own + derived} tests exits 2 on the original code (read by their output)"
            )
        else:
            kept_issue = [t for t in m.kept if t.startswith(("issue/", "hints/"))]
            if kept_issue:
                out.append(f"kept issue-derived test(s): {', '.join(kept_issue)}")
        incidents = incidents_of(m)
        if incidents:
            tests = sorted({i.split(":", 1)[0] for i in incidents})
            out.append(
                f"{len(tests)} test(s) did not run normally (timed out, output cut, or the environment had to be "
                f"replaced): {', '.join(tests)} (see the pass matrix)"
            )
        if m.stripped:
            out.append(
                "scratch files stripped before applying: "
                + "; ".join(f"{s}: {', '.join(p)}" for s, p in sorted(m.stripped.items()))
            )
        return out

    def section(self) -> list[str]:
        m = self.matrix
        if not m.tests:
            return []
        subs = m.subjects
        lines = [
            "## Pass matrix",
            "",
            "Exit 0 = pass (resolved), exit 2 = FAIL(2) (issue reproduced). "
            "Rows: tests (kept = exits 2 on the original code; dist. = splits the candidates). "
            "Columns: the original code and one representative per cluster.",
            "",
            "| test | kept | dist. | " + " | ".join(subs) + " |",
            "|---|---|---|" + "---|" * len(subs),
        ]
        for t in m.tests:
            cells = [_SYMBOL[c.status] if (c := m.cell(s, t.test_id)) else "-" for s in subs]
            lines.append(
                f"| {_cell(t.test_id)}{'' if t.authors else ' (from the issue)'} "
                f"| {'yes' if t.test_id in m.kept else 'no'} "
                f"| {'yes' if t.test_id in m.distinguishing else 'no'} | " + " | ".join(cells) + " |"
            )
        if m.apply_failures:
            lines += [
                "",
                "Did not apply: " + "; ".join(f"{s} ({_cell(w)})" for s, w in m.apply_failures.items()),
            ]
        incidents = incidents_of(m)
        if incidents:
            lines += ["", "Runs that did not end normally (recorded per cell; the selection went on):", ""]
            lines += [f"- {_cell(i)}" for i in incidents]
        others = [t.test_id for t in m.tests if (c := m.cell(ORIGINAL, t.test_id)) and c.status != "fail"]
        if others:
            lines += [
                "",
                f"Read by their output, not their exit code (do not exit 2 on the original code): "
                f"{', '.join(others)} (see Behaviour)",
            ]
        return lines


@dataclass
class BehaviourEvidence:
    """Every test's output on every subject against the original's (selection.behaviour)."""

    behaviour: Behaviour
    kind: str = "behaviour"

    def apply(self, signals: Mapping[str, Signals], members: Members) -> None:
        b = self.behaviour
        if not b.informative:
            return  # no test tells the candidates from the original code
        for subject, vote in b.support.items():
            for cid in members.get(subject, ()):
                s = signals[cid]
                s.behaviour, s.crashes, s.oracle_pass = vote, b.crashes[subject], b.oracle_passes[subject]
                s.behaviour_class = b.class_index.get(subject)

    def notes(self) -> list[str]:
        b = self.behaviour
        if not b.tests:
            return []
        inf = b.informative
        if not inf:
            return [f"behaviour: none of the {len(b.tests)} tests behaves differently on any candidate"]
        return [
            f"behaviour: {len(inf)} of {len(b.tests)} tests informative; {len(b.classes)} behaviour class(es): "
            + "; ".join("{" + ", ".join(c) + "}" for c in b.classes[:6])
        ]

    def section(self) -> list[str]:
        return behaviour_section(self.behaviour)


@dataclass
class RegressionEvidence:
    """New failures of related repository tests."""

    report: RegressionReport
    kind: str = "regression"

    def apply(self, signals: Mapping[str, Signals], members: Members) -> None:
        for rep in self.report.failures:
            n = self.report.count(rep)
            for cid in members.get(rep, ()):
                signals[cid].regression_failures = n
                signals[cid].regression_total = len(self.report.passing) if n is not None else None

    def notes(self) -> list[str]:
        return [f"regression: {self.report.note}"] if self.report.note else []

    def section(self) -> list[str]:
        r = self.report
        lines = ["## Regression tests", ""]
        if r.files:
            lines.append(
                f"Related test files: {', '.join(r.files)}; {len(r.passing)} tests pass on the original code."
            )
        for subject, failed in sorted(r.failures.items()):
            if failed:
                lines.append(
                    f"- {subject}: {len(failed)} new failure(s): {', '.join(failed[:10])}"
                    + (" ..." if len(failed) > 10 else "")
                )
        if r.note:
            lines.append(f"Note: {_cell(r.note)}")
        return lines

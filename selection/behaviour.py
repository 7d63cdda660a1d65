"""Output-differential evidence: what every test showed on the original code and on each candidate, turned into
informative tests, behaviour classes and a vote.

Real agents' scripts mostly print what they see and exit 0 either way, so a test's verdict is read from the
conventions it follows, strongest first:

| kind | the original code... | a candidate passes when | fails when |
|---|---|---|---|
| `exit` (ours) | exits 2 | it exits 0 | it exits 2 |
| `marker` (Agentless) | prints "Issue reproduced" | it prints "Issue resolved" | it prints "Issue reproduced" |
| `failure` | crashes, raises, asserts or exits non-zero | it runs cleanly (exit 0) | it fails the same way |
| `output` | runs cleanly | (no verdict) its output `changed` | its output is the `same` |

Anything else is `error` (a different failure, or a crash where the original ran cleanly). A test is
*informative* when some candidate behaves differently from the original on it (exit code, timeout or normalized
output digest). Candidates with identical responses on every informative test form *behaviour classes*.

The vote (per cluster representative, `support`):
- a positive response (pass, or a changed output that is not a crash) earns one point for every OTHER candidate
  giving the same response (agreement; identical patches from independent runs count, as in majority vote), and
  passing an oracle test (`exit`, `marker`, `failure`) earns one more point, unless everyone in the cluster wrote
  that test: a test's own author does not vote for itself alone;
- crashing a test that ran cleanly on the original code costs one point (`crashes` counts these).
So candidates whose changed behaviour agrees across many tests and many test authors gain support (CodeT's dual
agreement, AlphaCode's clustering by outputs), over classes rather than single patches (B4).

The computation only sees a `Cells` view (subject -> test -> observed run), so the pipeline (a live pass matrix)
and the benchmark (saved evidence, any subset of a pool) share it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Kind = Literal["exit", "marker", "failure", "output"]
Verdict = Literal["pass", "fail", "error", "same", "changed", "crash", "not_run"]
ORACLE_KINDS: tuple[Kind, ...] = ("exit", "marker", "failure")


class Run(Protocol):
    """What a run showed (selection.pass_matrix.Cell has these fields)."""

    @property
    def exit_code(self) -> int | None: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def digest(self) -> str: ...
    @property
    def excerpt(self) -> str: ...
    @property
    def exception(self) -> str | None: ...
    @property
    def marker(self) -> str | None: ...
    @property
    def status(self) -> str: ...


def _crashed(run: Run) -> bool:
    if run.timed_out:
        return True
    code = run.exit_code
    if code is None or code == 0:
        return False
    return run.exception is not None or code < 0 or code >= 124


def _failed(run: Run) -> bool:
    return run.timed_out or (run.exit_code not in (0, None)) or (run.exception == "AssertionError")


def kind_of(original: Run) -> Kind:
    """Which convention the test follows, read from its run on the original code."""
    if original.exit_code == 2 and not original.timed_out:
        return "exit"
    if original.marker == "reproduced":
        return "marker"
    if _failed(original):
        return "failure"
    return "output"


def verdict(kind: Kind, original: Run, run: Run) -> Verdict:
    """The response of one candidate's run against the original's, under the test's convention."""
    if run.status == "not_run":
        return "not_run"
    if kind == "exit":
        return (
            "pass"
            if run.exit_code == 0 and not run.timed_out
            else ("fail" if run.exit_code == 2 else "error")
        )
    if kind == "marker":
        return {"resolved": "pass", "reproduced": "fail"}.get(run.marker or "", "error")  # type: ignore[return-value]
    if kind == "failure":
        if run.exit_code == 0 and not run.timed_out and run.exception is None:
            return "pass"
        same = (run.exception, run.exit_code, run.timed_out) == (
            original.exception,
            original.exit_code,
            original.timed_out,
        )
        return "fail" if same else "error"
    if _crashed(run) and not _crashed(original):
        return "crash"
    if (run.exit_code, run.timed_out, run.digest) == (
        original.exit_code,
        original.timed_out,
        original.digest,
    ):
        return "same"
    return "changed"


def _same_behaviour(a: Run, b: Run) -> bool:
    return (a.exit_code, a.timed_out, a.digest) == (b.exit_code, b.timed_out, b.digest)


@dataclass
class TestReading:
    """One test read against the original code."""

    test_id: str
    kind: Kind
    authors: list[str]
    informative: bool
    responses: dict[str, tuple[Verdict, str]] = field(default_factory=dict)
    """subject -> (verdict, digest of its output when it changed or passed)."""
    original: str = ""
    """Excerpt of the original code's output."""
    excerpts: dict[str, str] = field(default_factory=dict)
    """subject -> excerpt of its output."""
    exceptions: dict[str, str] = field(default_factory=dict)
    """subject -> the exception its run died of, when one did."""

    def key(self, subject: str) -> tuple[Verdict, str]:
        return self.responses.get(subject, ("not_run", ""))


@dataclass
class Behaviour:
    """The output-differential reading of one instance (or one subset of its candidates)."""

    tests: list[TestReading]
    support: dict[str, float]
    """subject -> vote (see the module docstring); only subjects that ran."""
    crashes: dict[str, int]
    """subject -> tests it crashes that ran cleanly on the original code."""
    classes: list[list[str]]
    """Subjects with identical responses on every informative test, largest (by candidates) first."""
    oracle_passes: dict[str, int]
    """subject -> oracle tests (exit, marker, failure conventions) it passes, self-authored ones included."""

    @property
    def informative(self) -> list[TestReading]:
        return [t for t in self.tests if t.informative]

    @functools.cached_property
    def class_index(self) -> dict[str, int]:
        """subject -> the index of its class in `classes` (subjects in no class are absent)."""
        return {subject: j for j, members in enumerate(self.classes) for subject in members}


def read_behaviour(
    tests: Sequence[tuple[str, Sequence[str]]],
    runs: Mapping[tuple[str, str], Run],
    members: Mapping[str, Sequence[str]],
    original: str = "original",
) -> Behaviour:
    """Read `tests` ((test_id, author candidate ids)) over `runs` ((subject, test_id) -> run), for the subjects
    of `members` (subject -> the candidate ids it stands for; a subject missing a run is `not_run` there)."""
    readings: list[TestReading] = []
    for test_id, authors in tests:
        orig = runs.get((original, test_id))
        if orig is None or orig.status == "not_run":
            continue
        kind = kind_of(orig)
        reading = TestReading(test_id, kind, list(authors), informative=False, original=orig.excerpt)
        for subject in members:
            run = runs.get((subject, test_id))
            if run is None:
                continue
            v = verdict(kind, orig, run)
            reading.responses[subject] = (v, run.digest if v in ("changed", "pass") else "")
            reading.excerpts[subject] = run.excerpt
            if run.exception:
                reading.exceptions[subject] = run.exception
            if v != "not_run" and not _same_behaviour(run, orig):
                reading.informative = True
        readings.append(reading)
    weight = {s: len(m) for s, m in members.items()}
    support = {s: 0.0 for s in members}
    crashes = {s: 0 for s in members}
    passes = {s: 0 for s in members}
    for reading in readings:
        if not reading.informative:
            continue
        groups: dict[tuple[Verdict, str], float] = {}
        for s, key in reading.responses.items():
            groups[key] = groups.get(key, 0.0) + weight[s]
        wrote = set(reading.authors)
        for s, (v, digest) in reading.responses.items():
            if v == "crash":
                crashes[s] += 1
                support[s] -= 1.0
            if v == "pass":
                passes[s] += 1
            if v not in ("pass", "changed"):
                continue
            support[s] += groups[(v, digest)] - 1.0  # agreeing candidates other than this one
            if v == "pass" and not set(members[s]) <= wrote:
                support[s] += 1.0
    informative = [r for r in readings if r.informative]
    by_vector: dict[tuple[tuple[Verdict, str], ...], list[str]] = {}
    for s in members:
        if any(r.key(s)[0] == "not_run" for r in informative):
            continue
        by_vector.setdefault(tuple(r.key(s) for r in informative), []).append(s)
    classes = sorted(by_vector.values(), key=lambda c: -sum(weight[s] for s in c))
    ran = {s for r in readings for s, (v, _) in r.responses.items() if v != "not_run"}
    return Behaviour(
        readings,
        {s: v for s, v in support.items() if s in ran},
        {s: v for s, v in crashes.items() if s in ran},
        classes,
        {s: v for s, v in passes.items() if s in ran},
    )


_PHRASE = {
    "pass": "passes",
    "fail": "still fails",
    "error": "fails differently",
    "same": "prints the same as the original",
    "changed": "prints",
    "crash": "crashes",
    "not_run": "not run",
}


def _quote(text: str, limit: int = 300) -> str:
    text = text if len(text) <= limit else text[: limit // 2] + " [...] " + text[-limit // 2 :]
    return "`" + (text.replace("`", "'").replace("\n", " / ").replace("|", "\\|") or "(no output)") + "`"


def behaviour_section(b: Behaviour) -> list[str]:
    """Markdown: per informative test, the original's output excerpt, each response class's excerpt and who
    gives it; then the votes."""
    inf = b.informative
    if not inf:
        return []
    lines = [
        "## Behaviour (what the tests print)",
        "",
        "Each test run on the original code and on every cluster representative; outputs normalized (addresses, "
        "temporary paths, timings, seeds, traceback line numbers removed). Conventions: exit = exits 2 then 0 "
        "(ours); marker = prints Issue reproduced then Issue resolved; failure = fails on the original code; "
        "output = read by what it prints.",
    ]
    for r in inf:
        lines += [
            "",
            f"### {r.test_id} ({r.kind}; written by {', '.join(r.authors) or 'the issue text'})",
            "",
        ]
        lines.append(f"- original code: {_quote(r.original)}")
        groups: dict[tuple[Verdict, str], list[str]] = {}
        for subject, key in r.responses.items():
            groups.setdefault(key, []).append(subject)
        for (v, _), subjects in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            who = ", ".join(subjects)
            exc = {r.exceptions[s] for s in subjects if s in r.exceptions}
            died = f" ({', '.join(sorted(exc))})" if exc and v in ("crash", "error", "fail") else ""
            shown = "" if v == "same" else f": {_quote(r.excerpts.get(subjects[0], ''))}"
            lines.append(f"- {who}: {_PHRASE[v]}{died}{shown}")
    ranked = sorted(b.support.items(), key=lambda kv: -kv[1])
    lines += [
        "",
        "Votes (agreeing candidates per positive response, +1 per passed test not self-written, -1 per crash): "
        + ", ".join(
            f"{s} {v:g}" + (f" ({b.crashes[s]} crash)" if b.crashes.get(s) else "") for s, v in ranked
        ),
    ]
    return lines

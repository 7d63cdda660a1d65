"""The run report: `report.md` for people and PR bodies, `report.html` (same content + the jury's chart).

Also decides, from the pass matrix, whether each candidate passes its OWN reproduction test, which is what
separates "propose this patch" from "say what was tried".
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from patchjury.records import Candidate, Decision, Task
from patchjury.report.trajectory_html import DIFF_CSS, diff_html
from patchjury.selection.pass_matrix import PassMatrix
from patchjury.trajectory_record import Totals, TrajectoryRecord


@dataclass(frozen=True)
class OwnTest:
    """Did a candidate's own reproduction test(s) pass on its own patch?"""

    status: str
    """`pass` (every own test exits 0 on the patch and at least one reproduces the issue on the original),
    `fail`, `no_test`, `dropped` or `not_run` (tests were not executed)."""
    detail: str = ""


def own_test_verdicts(
    candidates: Sequence[Candidate], decision: Decision, matrix: PassMatrix | None
) -> dict[str, OwnTest]:
    """Per candidate_id, from the pass matrix (clusters share the row of their representative)."""
    evidence = {e.candidate_id: e for e in decision.evidence}
    out: dict[str, OwnTest] = {}
    for cand in candidates:
        ev = evidence.get(cand.candidate_id)
        if ev is not None and ev.dropped:
            out[cand.candidate_id] = OwnTest("dropped", ev.dropped)
            continue
        if not cand.tests:
            out[cand.candidate_id] = OwnTest("no_test", "wrote no reproduction test")
            continue
        if matrix is None:
            out[cand.candidate_id] = OwnTest("not_run", "tests were not executed (execution disabled)")
            continue
        cluster = ev.cluster if ev is not None else -1
        mates = {e.candidate_id for e in decision.evidence if e.cluster == cluster and cluster >= 0}
        subject = next((s for s in matrix.subjects if s in mates), cand.candidate_id)
        own = [t for t in matrix.tests if cand.candidate_id in t.authors]
        if not own:
            out[cand.candidate_id] = OwnTest("not_run", "its test was beyond the matrix's max_tests cap")
            continue
        cells = [matrix.cell(subject, t.test_id) for t in own]
        bad = [
            f"{t.path}: {c.status if c else 'not run'}"
            for t, c in zip(own, cells, strict=True)
            if not (c and c.passed)
        ]
        reproduces = [t for t in own if t.test_id in matrix.kept]
        if bad:
            out[cand.candidate_id] = OwnTest("fail", "; ".join(bad))
        elif not reproduces:
            out[cand.candidate_id] = OwnTest(
                "fail", "its test passes but does not reproduce the issue on the original code"
            )
        else:
            out[cand.candidate_id] = OwnTest(
                "pass", f"{len(own)} own test(s) pass; {len(reproduces)} reproduce the issue"
            )
    return out


@dataclass
class TrajectoryRow:
    candidate_id: str
    model: str
    status: str
    steps: int
    cost: float
    tokens: int
    seconds: float
    files: list[str]
    added: int
    removed: int
    own: OwnTest
    cached_tokens: int = 0
    """Prompt tokens read from the provider's cache."""
    prompt_tokens: int = 0

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @classmethod
    def build(cls, cand: Candidate, record: TrajectoryRecord | None, own: OwnTest) -> TrajectoryRow:
        totals = record.totals if record is not None else Totals(cost=cand.cost)
        files, added, removed = patch_stats(cand.model_patch)
        return cls(
            cand.candidate_id,
            cand.model_name_or_path or (record.model if record is not None else ""),
            cand.status,
            totals.steps,
            totals.cost,
            totals.tokens,
            totals.elapsed_s,
            files,
            added,
            removed,
            own,
            totals.cached_tokens,
            totals.prompt_tokens,
        )


def patch_stats(patch: str) -> tuple[list[str], int, int]:
    """Files touched (added, changed or deleted), lines added, lines removed."""
    files: list[str] = []
    added = removed = 0
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            name = line.split(" b/", 1)[-1] if " b/" in line else line[len("diff --git ") :]
            files.append(name.strip())
        elif line.startswith(("+++ ", "--- ")):
            continue
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return files, added, removed


@dataclass
class ReportData:
    """Everything a report shows."""

    task: Task
    title: str
    decision: Decision
    rows: list[TrajectoryRow]
    explanation_md: str
    models: list[str]
    env_description: str
    cost: float
    tokens: int
    duration: float
    container_minutes: float = 0.0
    warnings: list[str] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    """name -> path relative to the run directory."""
    records: dict[str, TrajectoryRecord] = field(default_factory=dict)
    """candidate_id -> its trajectory record (for the trajectory pages of the HTML report)."""
    adaptive: str = ""
    """With adaptive sampling: how many trajectories were sampled of the budget, and why it stopped."""

    @property
    def cached_share(self) -> float:
        """Share of all prompt tokens read from the providers' caches."""
        prompt = sum(r.prompt_tokens for r in self.rows)
        return sum(r.cached_tokens for r in self.rows) / prompt if prompt else 0.0

    @property
    def winner_row(self) -> TrajectoryRow | None:
        return next((r for r in self.rows if r.candidate_id == self.decision.winner), None)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def headline(data: ReportData) -> str:
    win = data.winner_row
    if win is None:
        return "No patch chosen: no trajectory produced a usable candidate."
    if win.own.status == "pass":
        return f"Chosen patch: **{win.candidate_id}**, which passes its own reproduction test ({win.own.detail})."
    return (
        f"The jury's pick is **{win.candidate_id}**, but it does not pass its own reproduction test "
        f"({win.own.status}: {win.own.detail}); treat it as a lead, not a fix."
    )


def render_markdown(data: ReportData, patch: str, links: dict[str, str] | None = None) -> str:
    """The report; `links` (candidate_id -> trajectory page) turns trajectory names into links (HTML report)."""
    d = data
    links = links or {}
    lines = [f"## patchjury: {d.title}", "", headline(d), ""]
    lines += [
        f"- Trajectories: {len(d.rows)} ({sum(1 for r in d.rows if r.added + r.removed)} with a patch), "
        f"model(s): {', '.join(d.models) or 'n/a'}",
        f"- Jury: `{d.decision.method}`; environment: {d.env_description}",
        f"- Cost: ${d.cost:.4f}, {d.tokens:,} tokens ({d.cached_share:.0%} of prompt tokens cached), "
        f"{d.duration:.0f} s wall"
        + (f", {d.container_minutes:.1f} container-minutes" if d.container_minutes else ""),
    ]
    lines += [f"- Adaptive sampling: {_cell(d.adaptive)}"] if d.adaptive else []
    lines += [f"- Warning: {_cell(w)}" for w in d.warnings]
    lines += ["", "### Trajectories", ""]
    lines += ["| trajectory | model | status | steps | cost | tokens (cached) | files | +/- | own test |"]
    lines += ["|---|---|---|---|---|---|---|---|---|"]
    for r in d.rows:
        name = f"[{r.candidate_id}]({links[r.candidate_id]})" if r.candidate_id in links else r.candidate_id
        name = f"**{name}**" if r.candidate_id == d.decision.winner else name
        own = r.own.status + (f" ({_cell(r.own.detail)})" if r.own.status != "pass" and r.own.detail else "")
        lines.append(
            f"| {name} | {_cell(r.model)} | {r.status} | {r.steps} | ${r.cost:.4f} | {r.tokens:,} "
            f"({r.cached_share:.0%}) | "
            f"{_cell(', '.join(r.files)) or '-'} | +{r.added}/-{r.removed} | {own} |"
        )
    lines += ["", "### The jury", ""]
    explanation = d.explanation_md.strip().splitlines()
    if explanation and explanation[0].startswith("# "):
        explanation = explanation[1:]
    lines += [("#" + ln if ln.startswith("## ") else ln) for ln in explanation]
    if patch.strip():
        lines += ["", "### Chosen patch", "", "```diff", patch.rstrip("\n"), "```"]
    if d.artifacts:
        lines += ["", "### Files", ""]
        lines += [f"- {name}: `{path}`" for name, path in d.artifacts.items()]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em}
th{background:#f3f3f7}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em}
code{background:#f6f8fa;padding:0 .2em}img{max-width:100%;border:1px solid #ddd}
"""


def render_html(markdown_text: str, chart_png: Path | None, title: str, patch: str = "") -> str:
    """Self-contained HTML: the title and verdict first, then the jury's chart (embedded as a data URI), the
    rest of the report, and `patch` as a coloured diff."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown_text)
    if patch.strip():
        body = re.sub(
            r'<pre><code class="language-diff">.*?</code></pre>',
            lambda _m: diff_html(patch),
            body,
            count=1,
            flags=re.S,
        )
    chart = ""
    if chart_png is not None and chart_png.exists():
        data = base64.b64encode(chart_png.read_bytes()).decode()
        chart = f'<h3>Scores and votes</h3><img alt="jury chart" src="data:image/png;base64,{data}">'
    head, sep, rest = body.partition("</p>")  # the title and the verdict, then the chart
    body = head + sep + chart + rest if sep else chart + body
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}{DIFF_CSS}</style></head><body>{body}</body></html>\n"
    )


def commit_message(data: ReportData) -> tuple[str, str]:
    """(subject, full message) summarizing the fix for `git commit` / the PR title."""
    subject = f"Fix: {data.title}".strip()
    if len(subject) > 72:
        subject = subject[:69].rstrip() + "..."
    win = data.winner_row
    body = [subject, ""]
    if win is not None:
        body.append(
            f"Changes {', '.join(win.files) or 'no files'} (+{win.added}/-{win.removed}). "
            f"Chosen by the patchjury jury ({data.decision.method}) from {len(data.rows)} trajectories."
        )
        body.append(f"Own reproduction test: {win.own.status} ({win.own.detail}).")
    reasons = [r for r in data.decision.reasons if r.strip()][:5]
    if reasons:
        body += ["", "Why this candidate:"] + [f"- {r}" for r in reasons]
    return subject, "\n".join(body).rstrip() + "\n"


def summary_markdown(data: ReportData) -> str:
    """Short 'what was tried' text for issue comments."""
    counts: dict[str, int] = {}
    for r in data.rows:
        counts[r.own.status] = counts.get(r.own.status, 0) + 1
    own = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
    lines = [
        f"- {len(data.rows)} trajectories with {', '.join(data.models) or 'the configured model'}; "
        f"statuses: {', '.join(sorted({r.status for r in data.rows}))}",
        f"- own reproduction tests: {own}",
        f"- jury ({data.decision.method}): "
        + (data.decision.reasons[0] if data.decision.reasons else "no reasons"),
        f"- cost ${data.cost:.4f}, {data.tokens:,} tokens ({data.cached_share:.0%} of prompt tokens cached)",
    ]
    return "\n".join(lines)

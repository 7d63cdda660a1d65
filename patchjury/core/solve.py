"""`patchjury solve` on a local git repository: checks, run_task, report, outcome, optional branch.

The user's working tree, index and current branch are never modified: the agent works on copies, and
`--apply` builds the fix commit in a private index and only creates the new branch `patchjury/<slug>`.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from rich.console import Console

from patchjury.core import gitops
from patchjury.core import runs as runs_mod
from patchjury.core.errors import UsageError
from patchjury.core.interrupts import RunInterrupts, resume_command
from patchjury.core.pipeline import Backend, TaskResult, run_task
from patchjury.core.settings import Settings, check_model_keys
from patchjury.envs.plan import EnvPlan, plan_local_repo
from patchjury.records import Task
from patchjury.report.console import make_console
from patchjury.report.outcome import RunOutcome
from patchjury.report.progress import StepPrinter
from patchjury.report.run_report import (
    ReportData,
    TrajectoryRow,
    commit_message,
    own_test_verdicts,
    render_html,
    render_markdown,
    summary_markdown,
)
from patchjury.report.trajectory_html import write_trajectory_html


@dataclass
class SolveRequest:
    repo: Path
    issue_text: str
    run_id: str | None = None
    instance_id: str | None = None
    apply: bool = False
    allow_dirty: bool = False
    progress: bool | None = None
    new_run: bool = False
    """Start a new run even when an interrupted run of the same issue and commit could be resumed."""
    argv: list[str] | None = None
    """The command line (sys.argv) that started the run, to print the exact command that resumes it."""
    local_fallback: str = ""
    """Why local checkouts are acceptable when Docker is unavailable (the demo); empty: they are not."""
    verbosity: Literal["quiet", "normal", "verbose"] = "normal"
    """`verbose` prints every step; `quiet` prints nothing but the result (the caller prints it)."""


def issue_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:120]
    raise UsageError("the issue text is empty: pass --issue TEXT or --issue-file FILE with a description")


def build_report(result: TaskResult, title: str) -> ReportData:
    from patchjury.trajectory_record import load_trajectory

    decision = result.decision
    own = own_test_verdicts(result.candidates, decision, result.run.matrix)
    rows, records = [], {}
    for cand in result.candidates:
        record = load_trajectory(cand.trajectory) if isinstance(cand.trajectory, str) else None
        rows.append(TrajectoryRow.build(cand, record, own[cand.candidate_id]))
        if record is not None:
            records[cand.candidate_id] = record
    rel = {
        "chosen patch": "chosen.patch",
        "candidates": "candidates.jsonl",
        "trajectories": f"trajectories/{Path(str(result.candidates[0].trajectory)).parent.name}/"
        if result.candidates
        else "trajectories/",
        "jury decision": "decision.json",
        "jury explanation": "explanation.md",
        "HTML report (with chart)": "report.html",
    }
    return ReportData(
        task=result.task,
        title=title,
        decision=decision,
        rows=rows,
        explanation_md=result.explanation_md,
        models=sorted({r.model for r in rows if r.model}),
        env_description=result.plan.description,
        cost=sum(r.cost for r in rows),
        tokens=sum(r.tokens for r in rows),
        duration=result.duration,
        container_minutes=result.env_seconds / 60 if result.plan.kind == "docker" else 0.0,
        warnings=result.plan.warnings + [n for n in result.notes if not n.startswith("Adaptive sampling: ")],
        adaptive=next((n.split(": ", 1)[1] for n in result.notes if n.startswith("Adaptive sampling: ")), ""),
        artifacts=rel if decision.model_patch else {k: v for k, v in rel.items() if k != "chosen patch"},
        records=records,
    )


def write_outputs(result: TaskResult, data: ReportData) -> tuple[str, str]:
    """chosen.patch, report.md, report.html; returns (status, report markdown)."""
    run_dir = result.run_dir
    patch = result.decision.model_patch or ""
    if patch.strip():
        (run_dir / "chosen.patch").write_text(patch if patch.endswith("\n") else patch + "\n")
    md = render_markdown(data, patch)
    (run_dir / "report.md").write_text(md)
    links = {}  # one page per trajectory, beside its record, linked from the HTML report
    for cand in result.candidates:
        record = data.records.get(cand.candidate_id)
        if record is not None and isinstance(cand.trajectory, str):
            page = Path(cand.trajectory).with_suffix(".html")
            write_trajectory_html(record, page, back=os.path.relpath(run_dir / "report.html", page.parent))
            links[cand.candidate_id] = os.path.relpath(page, run_dir)
    html_md = render_markdown(data, patch, links)
    (run_dir / "report.html").write_text(
        render_html(html_md, result.chart, f"patchjury: {data.title}", patch)
    )
    win = data.winner_row
    if win is None or not patch.strip():
        status = "no_candidate"
    elif win.own.status == "pass":
        status = "patch"
    elif win.own.status == "not_run":
        status = "unverified"
    else:
        status = "no_passing_candidate"
    return status, md


def solve(req: SolveRequest, settings: Settings, console: Console | None = None) -> tuple[RunOutcome, Path]:
    """Run the whole pipeline on `req.repo` for one issue; returns the outcome and the run directory."""
    console = console or make_console()
    start = time.monotonic()
    title = issue_title(req.issue_text)
    repo = gitops.repo_root(req.repo.expanduser().resolve())
    check_model_keys(settings.model_list())  # one clear error before any work
    dirty = gitops.dirty_paths(repo)
    if dirty and not req.allow_dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise UsageError(
            f"{repo} has uncommitted changes ({shown}): commit or stash them, or pass --allow-dirty "
            "(the run uses the last commit either way; your files are never modified)"
        )
    commit = gitops.head_commit(repo)
    instance_id = req.instance_id or gitops.slugify(title, 40)
    runs = gitops.ensure_runs_dir(repo) / "runs"
    key = runs_mod.run_key(commit, req.issue_text)
    run_id = req.run_id
    if run_id is None and not req.new_run and (found := runs_mod.find_interrupted(runs, key)) is not None:
        run_id = found.name
        console.print(
            f"resuming the interrupted run {run_id} of this issue (finished trajectories are kept, unfinished "
            "ones go on from their last step); pass --new-run to start over"
        )
    run_id = run_id or runs_mod.new_run_id(instance_id)
    resume = resume_command(req.argv or ["patchjury", "solve"], run_id)
    labels = {"dev.patchjury.front": "solve", "dev.patchjury.solve-run": run_id}
    with ExitStack() as stack:
        # The plan first: an unreachable engine or cluster (or a refused local fallback) leaves no run folder.
        backend: Backend | None = None
        plan: EnvPlan
        if settings.ray is not None:
            from patchjury.core.cluster.solve import repo_on_cluster

            plan, backend = stack.enter_context(repo_on_cluster(settings, repo, commit, labels))
        else:
            plan = plan_local_repo(settings.env, repo, commit, labels, local_fallback=req.local_fallback)
        run_dir = runs / run_id
        with runs_mod.RunLock(run_dir):
            return _solve_locked(
                req,
                settings,
                console,
                start,
                title,
                repo,
                commit,
                instance_id,
                key,
                plan,
                resume,
                run_dir,
                backend,
            )


def _solve_locked(
    req: SolveRequest,
    settings: Settings,
    console: Console,
    start: float,
    title: str,
    repo: Path,
    commit: str,
    instance_id: str,
    key: str,
    plan: EnvPlan,
    resume: str,
    run_dir: Path,
    backend: Backend | None = None,
) -> tuple[RunOutcome, Path]:
    run_id = run_dir.name
    if not (run_dir / runs_mod.RUN_FILE).exists():
        runs_mod.write_run_file(
            run_dir, key=key, run_id=run_id, commit=commit, instance_id=instance_id, started_at=time.time()
        )
    (run_dir / "issue.md").write_text(req.issue_text)
    (run_dir / "settings.yaml").write_text(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False))
    quiet = req.verbosity == "quiet"
    for w in [] if quiet else plan.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    if not quiet:
        console.print(
            f"patchjury: {settings.agent.n_trajectories} trajectories on {repo.name}@{commit[:12]} "
            f"in {plan.description}; run directory {run_dir}"
        )
        console.print(f"to resume if interrupted: {resume}", markup=False, highlight=False, soft_wrap=True)
    task = Task(instance_id=instance_id, problem_statement=req.issue_text, base_commit=commit)
    from patchjury.selection.static_check import StaticChecker, repo_source

    static = StaticChecker(repo_source(repo))
    verbose = req.verbosity == "verbose"
    with RunInterrupts(console, resume) as intr:
        result = run_task(
            task,
            plan,
            settings,
            run_dir,
            progress=False if verbose or quiet else req.progress,
            on_event=StepPrinter(console).on_event if verbose else None,
            static=static,
            stop=intr.stop,
            on_jury=intr.judging,
            backend=backend,
        )
    if result.run is None:
        outcome = _interrupted_outcome(result, run_id, instance_id, title, time.monotonic() - start)
        outcome.resume_command = resume
        outcome.save(run_dir)
        return outcome, run_dir
    data = build_report(result, title)
    status, _ = write_outputs(result, data)
    subject, message = commit_message(data)
    if result.interrupted:
        status = "interrupted"  # the jury's pick among the finished trajectories is for information only
    outcome = RunOutcome(
        run_id=run_id,
        instance_id=instance_id,
        status=status,  # type: ignore[arg-type]  # one of OutcomeStatus by construction
        title=subject,
        commit_message=message,
        summary=summary_markdown(data),
        patch_file="chosen.patch" if (run_dir / "chosen.patch").exists() else None,
        report_html="report.html",
        winner=result.decision.winner,
        n_trajectories=len(result.candidates),
        n_candidates=sum(1 for c in result.candidates if c.model_patch.strip()),
        cost=data.cost,
        tokens=data.tokens,
        cached_tokens=sum(r.cached_tokens for r in data.rows),
        duration=time.monotonic() - start,
        warnings=data.warnings,
        resume_command=resume if result.interrupted else None,
        finished=[c.candidate_id for c in result.finished],
    )
    if req.apply and outcome.patch_file and not result.interrupted:
        branch = gitops.free_branch_name(repo, instance_id)
        made = gitops.commit_patch_on_branch(repo, outcome.patch_text(run_dir), branch, message, base=commit)
        outcome.branch, outcome.commit = made.branch, made.commit
    outcome.save(run_dir)
    return outcome, run_dir


def _interrupted_outcome(
    result: TaskResult, run_id: str, instance_id: str, title: str, duration: float
) -> RunOutcome:
    """The outcome of a run stopped before any trajectory finished with a patch (no jury ran)."""
    note = result.notes[0]
    lines = [f"{note[:1].upper()}{note[1:]}."]
    lines += [f"- {c.candidate_id}: {c.status}" for c in result.candidates]
    return RunOutcome(
        run_id=run_id,
        instance_id=instance_id,
        status="interrupted",
        title=title,
        commit_message=title,
        summary="\n".join(lines),
        n_trajectories=len(result.candidates),
        cost=result.cost,
        duration=duration,
        warnings=result.plan.warnings + result.notes,
        finished=[c.candidate_id for c in result.finished],
    )

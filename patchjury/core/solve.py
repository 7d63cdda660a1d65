"""`patchjury solve` on a local git repository: checks, run_task, report, outcome, optional branch.

The user's working tree, index and current branch are never modified: the agent works on copies, and
`--apply` builds the fix commit in a private index and only creates the new branch `patchjury/<slug>`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from rich.console import Console

from patchjury.core import gitops
from patchjury.core.errors import UsageError
from patchjury.core.pipeline import TaskResult, run_task
from patchjury.core.settings import Settings, check_model_keys
from patchjury.envs.plan import plan_local_repo
from patchjury.records import Task
from patchjury.report.outcome import RunOutcome
from patchjury.report.run_report import (
    ReportData,
    TrajectoryRow,
    commit_message,
    own_test_verdicts,
    render_html,
    render_markdown,
    summary_markdown,
)


@dataclass
class SolveRequest:
    repo: Path
    issue_text: str
    run_id: str | None = None
    instance_id: str | None = None
    apply: bool = False
    allow_dirty: bool = False
    progress: bool | None = None


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
    rows = []
    for cand in result.candidates:
        record = load_trajectory(cand.trajectory) if isinstance(cand.trajectory, str) else None
        rows.append(TrajectoryRow.build(cand, record, own[cand.candidate_id]))
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
        warnings=result.plan.warnings + result.notes,
        artifacts=rel if decision.model_patch else {k: v for k, v in rel.items() if k != "chosen patch"},
    )


def write_outputs(result: TaskResult, data: ReportData) -> tuple[str, str]:
    """chosen.patch, report.md, report.html; returns (status, report markdown)."""
    run_dir = result.run_dir
    patch = result.decision.model_patch or ""
    if patch.strip():
        (run_dir / "chosen.patch").write_text(patch if patch.endswith("\n") else patch + "\n")
    md = render_markdown(data, patch)
    (run_dir / "report.md").write_text(md)
    (run_dir / "report.html").write_text(render_html(md, result.chart, f"patchjury: {data.title}"))
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
    console = console or Console(stderr=True)
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
    run_id = req.run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{instance_id[:30]}"
    run_dir = gitops.ensure_runs_dir(repo) / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "issue.md").write_text(req.issue_text)
    (run_dir / "settings.yaml").write_text(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False))
    plan = plan_local_repo(
        settings.env, repo, commit, {"dev.patchjury.front": "solve", "dev.patchjury.solve-run": run_id}
    )
    for w in plan.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(
        f"patchjury: {settings.agent.n_trajectories} trajectories on {repo.name}@{commit[:12]} "
        f"in {plan.description}; run directory {run_dir}"
    )
    task = Task(instance_id=instance_id, problem_statement=req.issue_text, base_commit=commit)
    from patchjury.selection.static_check import StaticChecker, repo_source

    static = StaticChecker(repo_source(repo))
    result = run_task(task, plan, settings, run_dir, progress=req.progress, static=static)
    data = build_report(result, title)
    status, _ = write_outputs(result, data)
    subject, message = commit_message(data)
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
        duration=time.monotonic() - start,
        warnings=data.warnings,
    )
    if req.apply and outcome.patch_file:
        branch = gitops.free_branch_name(repo, instance_id)
        made = gitops.commit_patch_on_branch(repo, outcome.patch_text(run_dir), branch, message, base=commit)
        outcome.branch, outcome.commit = made.branch, made.commit
    outcome.save(run_dir)
    return outcome, run_dir

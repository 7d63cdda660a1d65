"""`patchjury solve`: run the trajectories and the jury on a local git repository."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from patchjury.cli import options as o
from patchjury.core.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from patchjury.report.outcome import RunOutcome

TASK = "Task"


def solve_cmd(
    repo: Annotated[
        Path,
        typer.Option("--repo", help="The git repository (its last commit is used).", rich_help_panel=TASK),
    ] = Path("."),
    issue: Annotated[
        str | None, typer.Option("--issue", help="The issue text.", rich_help_panel=TASK)
    ] = None,
    issue_file: Annotated[
        Path | None, typer.Option("--issue-file", help="A file holding the issue text.", rich_help_panel=TASK)
    ] = None,
    instance_id: Annotated[
        str | None,
        typer.Option(
            "--instance-id", help="Id to give the issue (default: a slug of its title).", rich_help_panel=TASK
        ),
    ] = None,
    model: o.Models = None,
    n: o.Trajectories = None,
    max_cost: o.MaxCost = None,
    traj_workers: o.TrajWorkers = None,
    test_workers: o.TestWorkers = None,
    setup: o.Setup = None,
    env: o.EnvType = None,
    memory: o.Memory = None,
    cpus: o.Cpus = None,
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id", help="Run directory name (rerun the same id to resume).", rich_help_panel=o.OUTPUT
        ),
    ] = None,
    new_run: Annotated[
        bool,
        typer.Option(
            "--new-run",
            help="Start over even when an interrupted run of this issue could be resumed (by default a rerun "
            "resumes it).",
            rich_help_panel=o.OUTPUT,
        ),
    ] = False,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Commit the chosen patch on a new branch patchjury/<slug> (checkout untouched).",
            rich_help_panel=o.OUTPUT,
        ),
    ] = False,
    allow_dirty: Annotated[
        bool,
        typer.Option(
            "--allow-dirty", help="Run although the tree has uncommitted changes.", rich_help_panel=TASK
        ),
    ] = False,
    config: o.Config = None,
    verbose: o.Verbose = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the result.", rich_help_panel=o.OUTPUT)
    ] = False,
    adaptive: o.Adaptive = False,
    ray: o.Ray = None,
    image_registry: o.ImageRegistry = None,
    workers_old: o.OldWorkers = None,
) -> None:
    """Resolve an issue in a local git repository: N trajectories in sandboxes, then the jury.

    Writes .patchjury/runs/<run-id>/ (chosen patch, candidates, trajectories, explanation, report.md,
    report.html). Commands run in Docker sandboxes; without an engine the run stops with the fix, unless
    --env local asks for local checkouts (not isolated). Rerunning the same command resumes an interrupted
    run. Ctrl-C: no new trajectories, running ones stop after their step, the jury judges what finished;
    Ctrl-C again stops at once. Exit codes: 0 finished, 2 bad input or setup, 130 interrupted (Ctrl-C),
    143 terminated (SIGTERM).
    """
    from patchjury.core.interrupts import EXIT_INTERRUPTED
    from patchjury.core.settings import load_settings
    from patchjury.core.solve import SolveRequest, solve
    from patchjury.report.console import make_console

    traj_workers = o.renamed("solve", "--traj-workers", traj_workers, "--workers", workers_old)
    if (issue is None) == (issue_file is None):
        raise UsageError("give exactly one of --issue TEXT or --issue-file FILE")
    if verbose and quiet:
        raise UsageError("--verbose and --quiet contradict each other: pass one of them")
    if issue_file is not None:
        try:
            issue = issue_file.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read --issue-file {issue_file}: {exc.strerror}") from exc
    settings = load_settings(
        config or [],
        models=model or [],
        n=n,
        traj_workers=traj_workers,
        test_workers=test_workers,
        max_cost=max_cost,
        setup=setup,
        memory=memory,
        cpus=cpus,
        env_type=env,
        ray=ray,
        image_registry=image_registry,
        adaptive=adaptive,
    )
    console = make_console()
    verbosity: Literal["quiet", "normal", "verbose"] = (
        "verbose" if verbose else "quiet" if quiet else "normal"
    )
    if quiet:
        import logging

        logging.getLogger("patchjury").setLevel(logging.ERROR)  # warnings are in the report
    request = SolveRequest(
        repo,
        issue or "",
        run_id,
        instance_id,
        apply,
        allow_dirty,
        None,
        new_run,
        sys.argv,
        verbosity=verbosity,
    )
    outcome, run_dir = solve(request, settings, console)
    print_outcome(console, outcome, run_dir)
    if outcome.status == "interrupted":
        raise typer.Exit(EXIT_INTERRUPTED)


def print_outcome(console: Console, outcome: RunOutcome, run_dir: Path) -> None:
    """The closing lines: what was chosen, where the files are, how to use the branch."""
    verdict = {
        "patch": "[green]chosen patch passes its own reproduction test[/]",
        "unverified": "[yellow]patch chosen, but tests were not executed[/]",
        "no_passing_candidate": "[yellow]no candidate passes its own reproduction test[/]",
        "no_candidate": "[red]no trajectory produced a patch[/]",
        "interrupted": "[yellow]interrupted[/]",
    }[outcome.status]
    if outcome.status == "interrupted":
        _print_interrupted(console, outcome, run_dir, verdict)
        return
    console.print(
        f"\n{verdict}: winner {outcome.winner or '-'} of {outcome.n_candidates} candidates from "
        f"{outcome.n_trajectories} trajectories; ${outcome.cost:.4f}, {outcome.tokens:,} tokens, "
        f"{outcome.duration:.0f} s"
    )
    console.print(f"report:  {run_dir / outcome.report_md}")
    if outcome.report_html:
        console.print(f"html:    {run_dir / outcome.report_html}")
    if outcome.patch_file:
        console.print(f"patch:   {run_dir / outcome.patch_file}")
    if outcome.branch:
        console.print(
            f"branch:  {outcome.branch} ({(outcome.commit or '')[:12]}); try it: git switch {outcome.branch}"
        )
    elif outcome.patch_file:
        console.print(
            f"apply:   git apply {run_dir / outcome.patch_file}   (or rerun with --apply for a branch)"
        )


def _print_interrupted(console: Console, outcome: RunOutcome, run_dir: Path, verdict: str) -> None:
    finished = ", ".join(outcome.finished) or "none"
    console.print(
        f"\n{verdict}: {len(outcome.finished)} of {outcome.n_trajectories} trajectories finished ({finished}); "
        f"${outcome.cost:.4f}, {outcome.duration:.0f} s"
    )
    if outcome.winner:
        console.print(
            f"jury over the finished ones: {outcome.winner} (for information: nothing applied); "
            f"report: {run_dir / outcome.report_md}"
        )
    else:
        console.print(outcome.summary.splitlines()[0], markup=False, highlight=False, soft_wrap=True)
    if outcome.resume_command:
        console.print(f"resume with: {outcome.resume_command}", markup=False, highlight=False, soft_wrap=True)

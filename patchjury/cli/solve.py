"""`patchjury solve`: run the trajectories and the jury on a local git repository."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from patchjury.core.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from patchjury.report.outcome import RunOutcome


def solve_cmd(
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository (its last commit is used)."),
    issue: str | None = typer.Option(None, "--issue", help="The issue text."),
    issue_file: Path | None = typer.Option(None, "--issue-file", help="A file holding the issue text."),
    model: list[str] = typer.Option(
        [],
        "--model",
        "-m",
        help="litellm model name (or deterministic:SCRIPT.yaml, replay:TRAJ.json); repeat to mix models.",
    ),
    n: int | None = typer.Option(None, "-n", "--trajectories", help="Trajectories (candidate patches)."),
    workers: int | None = typer.Option(None, "--workers", help="Trajectories running at once."),
    config: list[str] = typer.Option(
        [], "-c", "--config", help="Config YAML file or KEY.PATH=VALUE override; repeatable, merged in order."
    ),
    setup: str | None = typer.Option(
        None, "--setup", help="Command installing the repo's dependencies into the environment image."
    ),
    max_cost: float | None = typer.Option(None, "--max-cost", help="Dollar budget for the whole run."),
    apply: bool = typer.Option(
        False,
        "--apply",
        help="Commit the chosen patch on a new branch patchjury/<slug> (checkout untouched).",
    ),
    allow_dirty: bool = typer.Option(
        False, "--allow-dirty", help="Run although the tree has uncommitted changes."
    ),
    run_id: str | None = typer.Option(
        None, "--run-id", help="Run directory name (rerun the same id to resume)."
    ),
    instance_id: str | None = typer.Option(None, "--instance-id", help="Id of the issue (default: a slug)."),
) -> None:
    """Resolve an issue in a local git repository: N trajectories in sandboxes, then the jury.

    Writes .patchjury/runs/<run-id>/ (chosen patch, candidates, trajectories, explanation, report.md,
    report.html). Docker is used when an engine is reachable, else local checkouts (not isolated).
    """
    from rich.console import Console

    from patchjury.core.settings import load_settings
    from patchjury.core.solve import SolveRequest, solve

    if (issue is None) == (issue_file is None):
        raise UsageError("give exactly one of --issue TEXT or --issue-file FILE")
    if issue_file is not None:
        try:
            issue = issue_file.read_text()
        except OSError as exc:
            raise UsageError(f"cannot read --issue-file {issue_file}: {exc.strerror}") from exc
    settings = load_settings(config, models=model, n=n, workers=workers, max_cost=max_cost, setup=setup)
    console = Console(stderr=True)
    outcome, run_dir = solve(
        SolveRequest(repo, issue or "", run_id, instance_id, apply, allow_dirty), settings, console
    )
    print_outcome(console, outcome, run_dir)


def print_outcome(console: Console, outcome: RunOutcome, run_dir: Path) -> None:
    """The closing lines: what was chosen, where the files are, how to use the branch."""
    verdict = {
        "patch": "[green]chosen patch passes its own reproduction test[/]",
        "unverified": "[yellow]patch chosen, but tests were not executed[/]",
        "no_passing_candidate": "[yellow]no candidate passes its own reproduction test[/]",
        "no_candidate": "[red]no trajectory produced a patch[/]",
    }[outcome.status]
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

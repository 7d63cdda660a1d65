"""`patchjury demo`: the whole pipeline, offline, on a small buggy repository it creates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patchjury.cli import options as o


def demo_cmd(
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where to create the demo repository (default: a new temporary directory)."
        ),
    ] = None,
    n: Annotated[
        int,
        typer.Option(
            "-n",
            "--trajectories",
            min=1,
            help="Trajectories (variants cycle every 4).",
            rich_help_panel=o.MODEL,
        ),
    ] = 4,
    traj_workers: Annotated[
        int | None,
        typer.Option(
            "--traj-workers",
            min=1,
            help="Trajectories running at once (default 2).",
            rich_help_panel=o.PARALLEL,
        ),
    ] = None,
    latency: Annotated[
        float,
        typer.Option(
            "--latency", help="Seconds the scripted model 'thinks' per step.", rich_help_panel=o.MODEL
        ),
    ] = 0.2,
    config: o.Config = None,
    workers_old: o.OldWorkers = None,
) -> None:
    """Run patchjury end to end without an API key: a deterministic model stands in for the LLM.

    Creates a small git repository with a bug, runs N trajectories in sandboxes (Docker if reachable),
    lets the jury vote with every candidate's reproduction test and the trained verifier, commits the
    winner on a branch patchjury/<slug> and shows the report.
    """
    import tempfile

    from rich.console import Console
    from rich.markdown import Markdown
    from rich.panel import Panel

    from patchjury.cli.solve import print_outcome
    from patchjury.core.demo_repo import ISSUE, create_demo_repo, script
    from patchjury.core.settings import load_settings
    from patchjury.core.solve import SolveRequest, solve

    traj_workers = o.renamed("demo", "--traj-workers", traj_workers, "--workers", workers_old) or 2
    console = Console()
    console.print(
        Panel(
            "[bold]OFFLINE DEMO[/]: a [bold]deterministic scripted model[/] stands in for the LLM (no API key, "
            "no network). Its 4 variants act like 4 different samples: two right fixes, one wrong fix, one "
            "half fix, each with its own reproduction test.\nEverything else is real: sandboxes, tools, "
            "reproduction tests, execution voting, the trained verifier, the report and the branch.",
            title="patchjury demo",
            border_style="magenta",
        )
    )
    root = Path(tempfile.mkdtemp(prefix="patchjury-demo-")) if directory is None else directory
    root.mkdir(parents=True, exist_ok=True)
    repo = create_demo_repo(root)
    console.print(f"Created the buggy repository [bold]{repo}[/]. The issue:\n")
    console.print(Panel(Markdown(ISSUE), border_style="cyan"))
    base = {
        "model": {
            "type": "deterministic",
            "name": "deterministic-demo",
            "script": script(),
            "latency_s": latency,
        },
        "agent": {"n_trajectories": n, "workers": traj_workers, "step_limit": 20},
    }
    settings = load_settings(config or [], base=base)
    outcome, run_dir = solve(
        SolveRequest(repo, ISSUE, run_id="demo", apply=True, progress=True), settings, Console(stderr=True)
    )
    console.rule("report")
    console.print(Markdown((run_dir / outcome.report_md).read_text()))
    console.rule()
    print_outcome(console, outcome, run_dir)
    console.print(
        f"\nLook around: [bold]cd {repo} && git log --oneline --all[/]; trajectories in {run_dir}/trajectories/.\n"
        f"Next: patchjury solve --repo YOUR_REPO --issue-file ISSUE.md --model openai/gpt-4o   "
        f"(remove the demo with: rm -rf {root})"
    )

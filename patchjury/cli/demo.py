"""`patchjury demo`: the whole pipeline, offline, on a small buggy repository it creates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from patchjury.cli import options as o

DEMO_LOCAL = (
    "the demo runs in LOCAL checkouts instead (NOT isolated: commands run as you; acceptable here because the "
    "demo's scripted model runs known commands only). `patchjury solve` refuses this unless you pass --env local."
)
DemoEnvType = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="auto|docker|local",
        help="Where commands run: docker sandboxes (auto, the default, falls back to local checkouts, said on "
        "screen, when no engine answers; docker stops with the fix instead) or local (NOT isolated: as you, in a "
        "temporary checkout) (config env.type).",
        rich_help_panel=o.ENV,
    ),
]


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
    env: DemoEnvType = None,  # the demo's auto falls back (o.EnvType's stops)
    config: o.Config = None,
    workers_old: o.OldWorkers = None,
) -> None:
    """Run patchjury end to end without an API key: a deterministic model stands in for the LLM.

    Creates a small git repository with a bug, runs N trajectories in Docker sandboxes (when no engine answers,
    in local checkouts, said on screen: the demo's scripted commands are known, unlike a real model's), lets the
    jury vote with every candidate's reproduction test and the trained verifier, commits the
    winner on a branch patchjury/<slug> and shows the report.
    """
    import tempfile

    from rich.markdown import Markdown
    from rich.panel import Panel

    from patchjury.cli.solve import print_outcome
    from patchjury.core.demo_repo import ISSUE, create_demo_repo, script
    from patchjury.core.settings import load_settings
    from patchjury.core.solve import SolveRequest, solve
    from patchjury.report.console import make_console

    traj_workers = o.renamed("demo", "--traj-workers", traj_workers, "--workers", workers_old) or 2
    console = make_console(stderr=False)
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
    settings = load_settings(config or [], base=base, env_type=env)
    request = SolveRequest(repo, ISSUE, run_id="demo", apply=True, progress=True, local_fallback=DEMO_LOCAL)
    outcome, run_dir = solve(request, settings, make_console())
    console.rule("report")
    console.print(Markdown((run_dir / outcome.report_md).read_text()))
    console.rule()
    print_outcome(console, outcome, run_dir)
    console.print(
        f"\nLook around: [bold]cd {repo} && git log --oneline --all[/]; trajectories in {run_dir}/trajectories/.\n"
        f"Next: patchjury solve --repo YOUR_REPO --issue-file ISSUE.md --model openai/gpt-4o   "
        f"(remove the demo with: rm -rf {root})"
    )

"""`patchjury show TRAJ`: render a trajectory record (messages, tool calls, observations, patch)."""

from __future__ import annotations

from pathlib import Path

import typer


def show_cmd(
    trajectory: Path = typer.Argument(
        ..., help="A trajectory JSON (<run_dir>/trajectories/<instance>/tNNN.json)."
    ),
    full: bool = typer.Option(False, "--full", help="Show long messages and the system prompt in full."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON instead of rendering."),
    html: Path | None = typer.Option(
        None, "--html", help="Write the trajectory as one self-contained HTML page (open it in a browser)."
    ),
) -> None:
    """Render a saved agent trajectory for humans (replay it with a `type: replay` model)."""
    import json

    from patchjury.agent.render import render_record
    from patchjury.report.console import make_console
    from patchjury.trajectory_record import load_trajectory

    record = load_trajectory(trajectory)
    if html is not None:
        from patchjury.report.trajectory_html import write_trajectory_html

        typer.echo(write_trajectory_html(record, html))
        return
    if as_json:
        keys = {"instance_id", "traj_id", "model", "status", "totals", "reproduced", "error"}
        typer.echo(json.dumps(record.model_dump(mode="json", include=keys), indent=1))
        return
    render_record(record, make_console(stderr=False), full=full)

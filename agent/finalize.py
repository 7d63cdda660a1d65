"""The end of a trajectory: its patch, its reproduction tests, whether they reproduce the issue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchjury.agent.workspace import load_submission
from patchjury.envs.errors import EnvError
from patchjury.records import Candidate, TestFile
from patchjury.tools.errors import ToolError
from patchjury.trajectory_record import load_trajectory

if TYPE_CHECKING:
    from patchjury.agent.context import TrajContext


def finalize(ctx: TrajContext, state: dict[str, Any] | Any) -> dict[str, Any]:
    """Node body of `finish`: record the outputs, return the state update."""
    status = state.get("status", "running")
    error = state.get("error") or None
    patch, tests = "", []
    reproduced: bool | None = None
    try:
        if status == "submitted":
            sub = load_submission(state["submitted"])
            patch, tests = sub["patch"], [TestFile.model_validate(t) for t in sub["tests"]]
        elif ctx.config.autosubmit and status != "env_error":
            patch, tests = ctx.toolset.outputs(ctx.env)
        if tests and status != "env_error":
            reproduced = ctx.toolset.reproduced(ctx.env)
    except (EnvError, ToolError) as exc:
        error = f"{error or ''}\nwhile collecting outputs: {type(exc).__name__}: {exc}".strip()
    ctx.recorder.finish(status, patch, tests, reproduced, error)
    return {"status": status}


def candidate_from_record(instance_id: str, path: Path) -> Candidate:
    """The Candidate of a finished trajectory record."""
    record = load_trajectory(path)
    return Candidate(
        instance_id=instance_id,
        model_patch=record.patch,
        candidate_id=record.traj_id or path.stem,
        tests=record.tests,
        trajectory=str(path),
        status=record.status,
        reproduced=record.reproduced,
        cost=record.totals.cost,
        model_name_or_path=record.model,
    )

"""The end of a trajectory: its patch, its reproduction tests, whether they reproduce the issue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patchjury.agent.trajectory import load_record
from patchjury.agent.workspace import load_submission
from patchjury.envs.errors import EnvError
from patchjury.records import Candidate, TestFile


def _as_dict(test: Any) -> dict[str, Any]:
    return test.model_dump() if hasattr(test, "model_dump") else dict(test)


def finalize(ctx: Any, state: dict[str, Any]) -> dict[str, Any]:
    """Node body of `finish` (ctx: agent.loop.TrajContext): record outputs, return the state update."""
    from patchjury.tools.repro import list_tests, reproduced_on_original

    status = state.get("status", "running")
    error = state.get("error") or None
    patch, tests = "", []
    reproduced: bool | None = None
    try:
        if status == "submitted":
            sub = load_submission(state["submitted"])
            patch, tests = sub["patch"], [_as_dict(t) for t in sub["tests"]]
        elif ctx.config.autosubmit and status != "env_error":
            tests = [_as_dict(t) for t in list_tests(ctx.env)]
            patch = ctx.env.diff(exclude=[t["path"] for t in tests])
        if tests and status != "env_error":
            reproduced = reproduced_on_original(ctx.env)
    except EnvError as exc:
        error = f"{error or ''}\nwhile collecting outputs: {type(exc).__name__}: {exc}".strip()
    ctx.recorder.set_totals(state)
    ctx.recorder.finish(status, patch, tests, reproduced, error)
    return {"status": status}


def candidate_from_record(instance_id: str, path: Path) -> Candidate:
    """The Candidate of a finished trajectory record."""
    record = load_record(path)
    return Candidate(
        instance_id=instance_id,
        model_patch=record.get("patch", ""),
        candidate_id=record.get("traj_id", path.stem),
        tests=[TestFile.model_validate(t) for t in record.get("tests", [])],
        trajectory=str(path),
        status=record.get("status", "error"),
        reproduced=record.get("reproduced"),
        cost=float(record.get("totals", {}).get("cost", 0.0)),
        model_name_or_path=record.get("model", ""),
    )

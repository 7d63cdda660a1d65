"""Streaming events, `patchjury show` rendering, and replaying a saved trajectory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agent_fixtures import agent_config, fixing_script
from typer.testing import CliRunner

from patchjury.agent.config import ModelConfig
from patchjury.agent.stream import iter_events
from patchjury.cli import app
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Task


@pytest.mark.slow
def test_stream_show_and_replay(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    def factory(index: int) -> LocalEnv:
        return LocalEnv(LocalEnvConfig(repo=buggy_repo))

    model = ModelConfig(type="deterministic", name="det", script=fixing_script())
    events = list(iter_events(task, factory, tmp_path / "run", agent_config(n_trajectories=1), model))
    assert events[0].kind == "start" and events[-1].kind == "done"
    (cand,) = events[-1].candidates
    assert [e.step for e in events if e.kind == "step"] == [1, 2, 3, 4, 5, 6]

    shown = CliRunner().invoke(app, ["show", str(cand.trajectory)], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    for needle in (
        "calc-1",
        "submitted",
        "write_test",
        "observation: run_test",
        "final patch",
        "+    return a + b",
    ):
        assert needle in shown.output
    summary = CliRunner().invoke(app, ["show", "--json", str(cand.trajectory)])
    assert json.loads(summary.output)["totals"]["steps"] == 6
    bad = CliRunner().invoke(app, ["show", str(tmp_path / "missing.json")])
    assert bad.exit_code != 0

    replay = ModelConfig(type="replay", replay_path=str(cand.trajectory))
    other = Task(instance_id="calc-replay", problem_statement=task.problem_statement)
    events = list(iter_events(other, factory, tmp_path / "replayed", agent_config(n_trajectories=1), replay))
    (again,) = events[-1].candidates
    assert again.status == "submitted" and again.model_patch == cand.model_patch
    assert [t.model_dump() for t in again.tests] == [t.model_dump() for t in cand.tests]

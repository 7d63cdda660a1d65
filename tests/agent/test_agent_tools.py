"""Tools own their behaviour: the agent calls their start/end hooks and asks whether they change files; the
settings file's `agent.tools` section picks the tools and sets the one observation limit."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import BUGGY

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.runner import run_trajectories
from patchjury.core.settings import load_settings
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.envs.protocol import Env
from patchjury.records import Task
from patchjury.tools.base import BaseTool
from patchjury.tools.protocol import Observation
from patchjury.tools.registry import get_tools
from patchjury.trajectory_record import load_trajectory


class Probe(BaseTool):
    """A read-only tool with hooks that note when they run."""

    name = "probe"
    description = "Look at nothing in particular (a test tool with start and end hooks)."
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    read_only = True

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def on_start(self, env: Env, task: Task) -> None:
        self.seen.append(f"start {task.instance_id}")

    def on_end(self, env: Env) -> None:
        self.seen.append("end")

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        self.seen.append("run")
        return Observation(text="nothing here")


def test_tool_hooks_run_once_and_read_only_tools_take_no_snapshot(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    probe = Probe()
    edit = {
        "tool": "edit",
        "args": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
    }
    script = [{"tool": "probe"}, {"tool": "probe"}, edit, {"tool": "submit"}]
    (cand,) = run_trajectories(
        task,
        lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
        tmp_path / "run",
        AgentConfig(n_trajectories=1),
        ModelConfig(type="deterministic", name="det", script=script),
        tools=[probe, *get_tools(["edit", "submit"])],
        progress=False,
    )
    assert cand.status == "submitted" and "+    return a + b" in cand.model_patch
    assert probe.seen == ["start calc-1", "run", "run", "end"]
    blobs = sorted(
        p.name.split("-")[1] for p in (tmp_path / "run" / "blobs" / "calc-1" / "t000").glob("step-*")
    )
    assert blobs == ["003"]  # only after the edit: the probe is read-only, submit ends the trajectory


@pytest.mark.slow
@pytest.mark.slow
def test_agent_tools_section_of_the_settings_file(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    (buggy_repo / "big.py").write_text(BUGGY * 400)
    subprocess.run(["git", "add", "big.py"], cwd=buggy_repo, check=True)
    subprocess.run(
        ["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "big"],
        cwd=buggy_repo,
        check=True,
    )
    conf = tmp_path / "patchjury.yaml"
    conf.write_text("agent:\n  tools:\n    names: [view, submit]\n    output_limit: 600\n")
    settings = load_settings([str(conf)])
    assert settings.agent.tools.names == ["view", "submit"] and settings.agent.tools.output_limit == 600
    script = [{"tool": "view", "args": {"path": "big.py"}}, {"tool": "submit"}]
    (cand,) = run_trajectories(
        task,
        lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
        tmp_path / "run",
        settings.agent.model_copy(update={"n_trajectories": 1}),
        ModelConfig(type="deterministic", name="det", script=script),
        progress=False,
    )
    record = load_trajectory(str(cand.trajectory))
    assert record.config["tools"]["names"] == ["view", "submit"]  # the record keeps the tools it ran with
    view = record.steps[0].observations[0].text
    assert len(view) <= 600 and "output limit reached" in view
    sent = next(m for m in record.messages if m["role"] == "tool")["content"]
    assert sent == view  # the model saw exactly the tool's text: no second limit on the agent side
    # Older spellings: a list of names, and the agent-level limit (now the tools' one).
    legacy = load_settings(["agent.tools=[view, edit, submit]", "agent.output_limit=900"])
    assert legacy.agent.tools.names == ["view", "edit", "submit"] and legacy.agent.tools.output_limit == 900
    assert "output_limit" not in AgentConfig.model_fields

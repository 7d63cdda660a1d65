"""Full trajectories with the deterministic model on a real temporary git repo (LocalEnv, real tools)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import FIXED, REPRO, agent_config, fixing_script

from patchjury.agent.config import ModelConfig
from patchjury.agent.events import Event
from patchjury.agent.runner import run_trajectories
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.errors import EnvConfigError
from patchjury.envs.local import LocalEnv
from patchjury.records import Candidate, Task
from patchjury.trajectory_record import load_trajectory


def local(repo: Path) -> Any:
    return lambda index: LocalEnv(LocalEnvConfig(repo=repo))


def det(script: list[dict[str, Any]], **kw: Any) -> ModelConfig:
    return ModelConfig(type="deterministic", name="det", script=script, **kw)


def apply_and_check(repo: Path, tmp: Path, cand: Candidate) -> tuple[int, int]:
    """Exit codes of the candidate's test on the original code and on the patched code."""
    work = tmp / f"check-{cand.candidate_id}"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    test = cand.tests[0]
    (work / test.path).write_text(test.content)
    before = subprocess.run(["python3", test.path], cwd=work).returncode
    subprocess.run(["git", "apply"], input=cand.model_patch, text=True, cwd=work, check=True)
    after = subprocess.run(["python3", test.path], cwd=work).returncode
    return before, after


@pytest.mark.slow
def test_two_trajectories_fix_the_bug_and_write_reproduction_tests(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    events: list[Event] = []
    got: list[Candidate] = []
    cands = run_trajectories(
        task,
        local(buggy_repo),
        tmp_path / "run",
        agent_config(n_trajectories=2, workers=2),
        det(fixing_script()),
        on_event=events.append,
        on_candidate=got.append,
        progress=False,
    )
    assert [c.candidate_id for c in cands] == ["t000", "t001"] and len(got) == 2
    for i, cand in enumerate(cands):
        assert cand.status == "submitted" and cand.reproduced is True and cand.model_name_or_path == "det"
        assert "-    return a - b" in cand.model_patch and "+    return a + b" in cand.model_patch
        assert [t.path for t in cand.tests] == [f"repro_test_{i}.py"] and cand.tests[0].content == REPRO
        assert "repro_test" not in cand.model_patch
        assert apply_and_check(buggy_repo, tmp_path, cand) == (2, 0)
        record = load_trajectory(str(cand.trajectory))
        assert record.status == "submitted" and record.totals.steps == 6
        assert [m["role"] for m in record.messages[:3]] == ["system", "user", "assistant"]
        assert len(record.steps) == 6 and all(s.query_s >= 0 and s.act_s is not None for s in record.steps)
        assert record.steps[2].observations[0].data.get("exit_code", 2) == 2
        assert Path(str(cand.trajectory)).with_suffix(".patch").read_text() == cand.model_patch
    kinds = [e.kind for e in events]
    assert (
        kinds.count("start") == 2
        and kinds.count("step") == 12
        and kinds.count("end") == 2
        and kinds[-1] == "done"
    )
    assert (buggy_repo / "calc.py").read_text() != FIXED  # the source repo is never touched


def test_malformed_calls_get_error_observations_and_three_in_a_row_end_the_trajectory(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    script = [
        {"tool": "view", "raw_arguments": "{not json"},  # bad JSON
        {"tool": "view", "args": {"path": "calc.py"}},  # fine: resets the count
        {"tool": "teleport", "args": {}},  # unknown tool
        {"content": "I think the bug is in calc.py"},  # no call at all
        {"tool": "view", "args": {"nonsense": 1}},  # schema violation
        {"tool": "submit", "args": {}},
    ]
    (cand,) = run_trajectories(
        task, local(buggy_repo), tmp_path / "run", agent_config(n_trajectories=1), det(script), progress=False
    )
    assert cand.status == "format_error"
    record = load_trajectory(str(cand.trajectory))
    obs = [s.observations[0] for s in record.steps]
    assert len(obs) == 5
    assert [o.format_error for o in obs] == [True, False, True, True, True]
    assert "not valid JSON" in obs[0].text and "teleport" in obs[2].text and "no tool call" in obs[3].text
    assert "1 more malformed" in obs[3].text
    tool_msgs = [m for m in record.messages if m["role"] == "tool"]
    assert tool_msgs[0]["tool_call_id"] == "det-0-0" and "not valid JSON" in tool_msgs[0]["content"]


def test_step_and_cost_limits_stop_with_their_status_and_autosubmit_the_diff(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    edit = {
        "tool": "edit",
        "args": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
    }
    view = {"tool": "view", "args": {"path": "calc.py"}, "cost": 0.4}
    cands = run_trajectories(
        task,
        local(buggy_repo),
        tmp_path / "run",
        agent_config(n_trajectories=1, step_limit=3),
        det([edit, view, view, view, view]),
        progress=False,
    )
    assert cands[0].status == "step_limit" and "+    return a + b" in cands[0].model_patch
    assert load_trajectory(str(cands[0].trajectory)).totals.steps == 3
    cands = run_trajectories(
        task,
        local(buggy_repo),
        tmp_path / "run2",
        agent_config(n_trajectories=1, cost_limit=1.0),
        det([edit, view, view, view, view]),
        progress=False,
    )
    record = load_trajectory(str(cands[0].trajectory))
    assert (
        cands[0].status == "cost_limit" and record.totals.steps == 4 and cands[0].cost == pytest.approx(1.2)
    )


def test_a_failing_trajectory_is_recorded_and_the_others_go_on(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    flaky = det([{"tool": "view", "args": {"path": "calc.py"}}, {"fail": "API down"}])

    live: list[str] = []
    peak: list[int] = [0]

    class CountingEnv(LocalEnv):
        def close(self) -> None:
            if self.workdir in live:
                live.remove(self.workdir)
            super().close()

    def factory(index: int) -> LocalEnv:
        if index == 2:
            raise EnvConfigError("no such image: simulated")
        env = CountingEnv(LocalEnvConfig(repo=buggy_repo))
        live.append(env.workdir)
        peak[0] = max(peak[0], len(live))
        return env

    cfg = agent_config(n_trajectories=4, workers=2)
    models = [flaky, det(fixing_script())]  # round robin: 0, 2 flaky; 1, 3 fixing
    cands = run_trajectories(task, factory, tmp_path / "run", cfg, models, progress=False)
    assert [c.status for c in cands] == ["model_error", "submitted", "env_error", "submitted"]
    assert "API down" in str(load_trajectory(str(cands[0].trajectory)).error)
    assert "simulated" in str(load_trajectory(str(cands[2].trajectory)).error)
    assert peak[0] <= 2 and not live  # bounded by workers; every Env closed


def test_finished_trajectories_are_skipped_on_rerun(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    cfg = agent_config(n_trajectories=2, workers=2)
    first = run_trajectories(
        task, local(buggy_repo), tmp_path / "run", cfg, det(fixing_script()), progress=False
    )
    made: list[int] = []

    def counting(index: int) -> LocalEnv:
        made.append(index)
        return LocalEnv(LocalEnvConfig(repo=buggy_repo))

    events: list[Event] = []
    cfg3 = agent_config(n_trajectories=3, workers=2)
    again = run_trajectories(
        task,
        counting,
        tmp_path / "run",
        cfg3,
        det(fixing_script()),
        on_event=events.append,
        progress=True,  # also drives the rich live table
    )
    assert made == [2] and sorted(e.index for e in events if e.kind == "skip") == [0, 1]
    assert [c.model_dump() for c in again[:2]] == [c.model_dump() for c in first]
    assert again[2].status == "submitted"
    assert json.loads(Path(str(again[0].trajectory)).read_text())["resumes"] == []


def test_token_and_time_limits(buggy_repo: Path, task: Task, tmp_path: Path) -> None:
    view = {"tool": "view", "args": {"path": "calc.py"}}
    (cand,) = run_trajectories(
        task,
        local(buggy_repo),
        tmp_path / "run",
        agent_config(n_trajectories=1, token_limit=1),
        det([view] * 5),
        progress=False,
    )
    assert cand.status == "token_limit" and load_trajectory(str(cand.trajectory)).totals.steps == 1
    slow = det([view] * 10, latency_s=0.3)
    (cand,) = run_trajectories(
        task,
        local(buggy_repo),
        tmp_path / "run2",
        agent_config(n_trajectories=1, time_limit_s=0.5),
        slow,
        progress=False,
    )
    record = load_trajectory(str(cand.trajectory))
    assert cand.status == "time_limit" and 1 <= record.totals.steps <= 2 and record.totals.elapsed_s >= 0.5

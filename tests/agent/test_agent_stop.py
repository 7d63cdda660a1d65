"""Stopping a run (issue 15): queued trajectories never start, running ones stop before their next model query,
and a rerun resumes exactly there. Secrets of the process never reach trajectory records or logs."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import agent_config, fixing_script

from patchjury.agent.config import ModelConfig
from patchjury.agent.events import Event
from patchjury.agent.runner import run_trajectories
from patchjury.agent.trajectory import trajectory_path
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import Task
from patchjury.trajectory_record import load_trajectory


def test_stop_keeps_queued_trajectories_unstarted_and_running_ones_resumable(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    run_dir, made = tmp_path / "run", []
    stop = threading.Event()
    lock = threading.Lock()

    def factory(index: int) -> LocalEnv:
        with lock:
            made.append(index)
        return LocalEnv(LocalEnvConfig(repo=buggy_repo))

    def on_event(ev: Event) -> None:
        if ev.kind == "step" and ev.step >= 2:  # both running trajectories are mid-way: stop the run
            stop.set()

    model = ModelConfig(type="deterministic", name="det", script=fixing_script(), latency_s=0.05)
    cands = run_trajectories(
        task,
        factory,
        run_dir,
        agent_config(n_trajectories=4, workers=2),
        model,
        on_event=on_event,
        progress=False,
        stop=stop,
    )
    assert [c.status for c in cands] == ["interrupted"] * 4
    assert sorted(made) == [0, 1]  # the queued trajectories 2 and 3 got no Env at all
    assert not trajectory_path(run_dir, task.instance_id, 2).exists()
    steps_at_stop = {}
    for i in (0, 1):
        record = load_trajectory(trajectory_path(run_dir, task.instance_id, i))
        assert (
            record.status == "interrupted" and len(record.steps) < 6
        )  # 0 when stopped before its first query
        assert all(s.observations for s in record.steps)  # stopped between steps, none half-done
        steps_at_stop[i] = len(record.steps)
    assert max(steps_at_stop.values()) >= 2

    made.clear()
    again = run_trajectories(
        task, factory, run_dir, agent_config(n_trajectories=4, workers=2), model, progress=False
    )
    assert [c.status for c in again] == ["submitted"] * 4 and sorted(made) == [0, 1, 2, 3]
    for i in (0, 1):
        record = load_trajectory(trajectory_path(run_dir, task.instance_id, i))
        resumed = record.resumes[-1]
        assert resumed.from_step == steps_at_stop[i] and resumed.discarded_steps == []
        assert len(record.steps) == 6  # every step ran exactly once over the two processes


def test_secrets_are_redacted_from_records_blobs_and_logs(
    buggy_repo: Path,
    task: Task,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key, token, custom = "sk-test-0123456789abcdef", "ghp_fAkEtOkEn0123456789", "custom-credential-value-42"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv(
        "MY_PROVIDER_CRED", custom
    )  # not credential-shaped: a secret because a config names it
    leak = f"{key} {token} {custom}"
    script: list[dict[str, Any]] = [
        {
            "content": f"the issue pasted {leak}",
            "tool": "run",
            "args": {"command": f"echo {leak} > leak.txt"},
        },
        {"tool": "run", "args": {"command": "env"}},
        {"tool": "submit", "args": {}},
    ]
    model = ModelConfig(type="deterministic", name="det", script=script, api_key_env="MY_PROVIDER_CRED")
    (cand,) = run_trajectories(
        task,
        lambda i: LocalEnv(LocalEnvConfig(repo=buggy_repo)),
        tmp_path / "run",
        agent_config(n_trajectories=1),
        model,
        progress=False,
    )
    logging.getLogger("patchjury.test").warning("calling the API with %s", key)
    written = "".join(
        p.read_text() for p in (tmp_path / "run").rglob("*") if p.is_file() and p.suffix != ".sqlite"
    )
    for secret in (key, token, custom):
        assert secret not in written
        assert secret not in caplog.text
    assert "[REDACTED:OPENAI_API_KEY]" in written and "[REDACTED:MY_PROVIDER_CRED]" in written
    assert "[REDACTED:OPENAI_API_KEY]" in caplog.text
    record = load_trajectory(str(cand.trajectory))
    env_output = record.steps[1].observations[0].text
    assert "OPENAI_API_KEY" not in env_output and "GITHUB_TOKEN" not in env_output  # scrubbed: never seen
    assert "[REDACTED:GITHUB_TOKEN]" in json.dumps(record.messages)


def test_a_kill_after_the_finish_record_and_before_its_checkpoint_does_not_redo_the_trajectory(
    buggy_repo: Path, task: Task, tmp_path: Path
) -> None:
    """SIGKILL can land after the `finish` node wrote the record (status submitted) and before the checkpoint
    that follows it: a rerun must skip that trajectory, not resume it (CI saw `resumes` on a finished one)."""
    import sqlite3

    run_dir, made = tmp_path / "run", []

    def factory(index: int) -> LocalEnv:
        made.append(index)
        return LocalEnv(LocalEnvConfig(repo=buggy_repo))

    model = ModelConfig(type="deterministic", name="det", script=fixing_script())
    (first,) = run_trajectories(task, factory, run_dir, agent_config(n_trajectories=1), model, progress=False)
    assert first.status == "submitted"
    # The state such a kill leaves: the last checkpoint (after `finish`) and the finish task's writes are gone.
    with sqlite3.connect(run_dir / "checkpoints.sqlite") as con:
        (last, parent), *_ = con.execute(
            "SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints ORDER BY checkpoint_id DESC"
        ).fetchall()
        con.execute("DELETE FROM checkpoints WHERE checkpoint_id = ?", (last,))
        con.execute("DELETE FROM writes WHERE checkpoint_id IN (?, ?)", (last, parent))
    events: list[Event] = []
    (again,) = run_trajectories(
        task, factory, run_dir, agent_config(n_trajectories=1), model, progress=False, on_event=events.append
    )
    assert again.status == "submitted" and again.model_patch == first.model_patch
    assert made == [0] and [e.kind for e in events] == ["skip", "done"]  # no Env, no resume
    assert load_trajectory(trajectory_path(run_dir, task.instance_id, 0)).resumes == []

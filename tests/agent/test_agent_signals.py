"""Real signals to a real `patchjury solve` with the local backend (issue 15, item 6).

SIGTERM: the process ends at once (exit 143) with its temporary checkouts removed and the command running in
them killed; a rerun with the same run id resumes from the last checkpoint. SIGKILL: nothing can run in the
process, so the leftovers (checkouts, a command still running) are bounded and removed afterwards: the command
ends at its own timeout, and the next process that starts a local Env there removes the checkouts.
Each test waits for a marker (the pid file the running command writes), never for a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from agent_fixtures import REPRO

RUN_ID = "signals"
ISSUE = "add(2, 2) returns 0 instead of 4"


def _sleeper(marker: Path) -> str:
    """Writes its pid to `marker` and sleeps; once `<marker>.done` exists (the test's rerun), it only echoes.
    (A resumed trajectory re-runs the tool calls of its last checkpointed model answer.)"""
    return f"if [ -e {marker}.done ]; then echo again; else echo $$ > {marker}; exec sleep 600; fi"


def _script(command: str, timeout: int) -> str:
    steps: list[dict[str, Any]] = [
        {"tool": "write_test", "args": {"path": "repro_test.py", "content": REPRO}},
        {"tool": "run", "args": {"command": command, "timeout": timeout}},
        {
            "tool": "edit",
            "args": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
        },
        {"tool": "submit", "args": {}},
    ]
    return json.dumps(steps)  # JSON is YAML


def _solve(repo: Path, tmp: Path, script: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "patchjury.cli",
        "solve",
        "--repo",
        str(repo),
        "--issue",
        ISSUE,
        "--model",
        f"deterministic:{script}",
        "-n",
        "1",
        "--run-id",
        RUN_ID,
        "-c",
        "env.type=local",
        "-c",
        "agent.tools=[view,search,find_files,edit,run,write_test,run_test,submit]",
    ]


def _child_env(tmp: Path) -> dict[str, str]:
    scratch = tmp / "scratch"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(scratch), "PATCHJURY_CACHE": str(tmp / "cache")}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _start_and_wait_for_marker(cmd: list[str], env: dict[str, str], marker: Path) -> tuple[Any, int]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if marker.exists() and marker.read_text().strip():
            return proc, int(marker.read_text())
        time.sleep(0.05)
    proc.kill()
    out, err = proc.communicate()
    pytest.fail(
        f"the run never reached its long command (exit {proc.returncode}):\n{out[-2000:]}\n{err[-3000:]}"
    )


def _leftovers(tmp: Path) -> list[str]:
    return sorted(
        p.name for p in (tmp / "scratch").iterdir() if p.name.startswith(("pj-local-", "pj-checkouts-"))
    )


def _record(repo: Path) -> dict[str, Any]:
    (path,) = (repo / ".patchjury" / "runs" / RUN_ID / "trajectories").glob("*/t000.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture
def solve_setup(buggy_repo: Path, tmp_path: Path) -> tuple[list[str], dict[str, str], Path]:
    marker = tmp_path / "sleeper.pid"
    script = tmp_path / "script.yaml"
    script.write_text(_script(_sleeper(marker), timeout=600))
    return _solve(buggy_repo, tmp_path, script), _child_env(tmp_path), marker


@pytest.mark.slow
def test_sigterm_removes_checkouts_kills_commands_and_the_run_resumes(
    buggy_repo: Path, tmp_path: Path, solve_setup: tuple[list[str], dict[str, str], Path]
) -> None:
    cmd, env, marker = solve_setup
    proc, sleeper = _start_and_wait_for_marker(cmd, env, marker)
    assert _leftovers(tmp_path), "the local backend made no temporary checkout"
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("solve did not exit within 60 s of SIGTERM")
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert _leftovers(tmp_path) == []
    assert not _alive(sleeper), "the command running in the checkout outlived SIGTERM"
    before = _record(buggy_repo)
    assert before["status"] == "running" and len(before["steps"]) == 1  # write_test done, `run` in flight

    Path(f"{marker}.done").touch()
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = _record(buggy_repo)
    # resumed at the checkpoint after step 2's model answer: only its tool call ran again
    assert after["status"] == "submitted" and after["resumes"][-1]["from_step"] == 2
    assert [s["observations"][0]["name"] for s in after["steps"]] == ["write_test", "run", "edit", "submit"]
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_sigkill_leftovers_are_bounded_and_swept_by_the_next_run(buggy_repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "sleeper.pid"
    script = tmp_path / "script.yaml"
    script.write_text(_script(_sleeper(marker), timeout=3))
    cmd, env = _solve(buggy_repo, tmp_path, script), _child_env(tmp_path)
    proc, sleeper = _start_and_wait_for_marker(cmd, env, marker)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    left = _leftovers(tmp_path)
    assert left, "SIGKILL cannot clean up: the checkout is expected to remain until the next run"
    deadline = time.monotonic() + 30
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper), "a command of a SIGKILLed run kept running past its timeout"

    Path(f"{marker}.done").touch()
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert not set(left) & set(_leftovers(tmp_path)), "the next run did not remove the dead run's checkouts"
    after = _record(buggy_repo)
    assert after["status"] == "submitted" and after["resumes"][-1]["from_step"] == 2

"""SIGKILL a run mid-way and rerun it: finished trajectories are not redone, recorded steps are not lost."""

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

HERE = Path(__file__).parent
SCRIPT_TOOLS = ["view", "write_test", "run_test", "edit", "run_test", "submit"]


def _record(run_dir: Path, index: int) -> dict[str, Any] | None:
    path = run_dir / "trajectories" / "calc-1" / f"t{index:03d}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _tools(record: dict[str, Any]) -> list[str]:
    return [s["observations"][0]["name"] for s in record["steps"] if s.get("observations")]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(buggy_repo: Path, tmp_path: Path) -> None:
    run_dir, made = tmp_path / "run", tmp_path / "made.log"
    cmd = [sys.executable, str(HERE / "resume_child.py"), str(buggy_repo), str(run_dir), "0.4", str(made)]
    child = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    before: dict[int, dict[str, Any]] = {}
    try:
        while time.monotonic() < deadline and child.poll() is None:
            recs = {i: _record(run_dir, i) for i in range(4)}
            done = [i for i, r in recs.items() if r and r["status"] == "submitted"]
            mid = [i for i, r in recs.items() if r and r["status"] == "running" and len(_tools(r)) >= 4]
            if len(done) >= 2 and mid:
                os.killpg(child.pid, signal.SIGKILL)  # the whole run, mid-way, without any cleanup
                before = {i: r for i, r in recs.items() if r}
                break
            time.sleep(0.05)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert before, (
        f"the run never reached the kill point: {child.stderr.read().decode()[-2000:] if child.stderr else ''}"
    )
    finished = {i for i, r in before.items() if r["status"] == "submitted"}
    unfinished = {i for i, r in before.items() if r["status"] == "running"}
    made.write_text("")
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    cands = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert [c["status"] for c in cands] == ["submitted"] * 4
    created = {int(x) for x in made.read_text().split()}
    assert created == set(range(4)) - finished  # finished trajectories got no new Env: not redone
    for i in finished:
        after = _record(run_dir, i)
        assert after == before[i]  # untouched
    for i in unfinished:
        after = _record(run_dir, i)
        assert (
            after is not None and _tools(after) == SCRIPT_TOOLS
        )  # continued from its last step, nothing redone twice
        resumed = after["resumes"][-1]
        kept = resumed["from_step"]
        assert kept >= len(_tools(before[i])) - 1
        # Every step recorded before the kill is still there, or kept under `resumes` when it was re-done: the
        # steps past the checkpoint, and the checkpoint's pending step when its calls had run before the kill.
        steps, discarded = before[i]["steps"], resumed["discarded_steps"]
        for j, b in enumerate(steps[: kept - 1]):
            assert after["steps"][j] == b, (kept, j)
        pending = steps[kept - 1 : kept]
        if pending and after["steps"][kept - 1] != pending[0]:
            assert discarded[0] == pending[0]  # its calls ran again after the resume
            discarded = discarded[1:]
        assert steps[kept:] == discarded[: len(steps) - kept]
    for i, cand in enumerate(cands):
        assert "+    return a + b" in cand["model_patch"] and cand["tests"][0]["content"] == REPRO
        assert cand["reproduced"] is True, i  # the test manifest was restored with the workspace

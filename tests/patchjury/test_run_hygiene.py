"""Run hygiene through the real command line (issue 15, items 1, 2, 3, 5 and the CLI "also" list).

Real processes get real signals; every wait is for a marker (a file a running command writes, a line on stderr,
a record's status), never a fixed sleep. The local backend (`--env local`) keeps these fast: what is tested is
the front door's behaviour, the same with Docker.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from gitrepo import init_repo

from patchjury.core.runs import new_run_id

ISSUE = "add(2, 2) returns 0 instead of 4"
REPRO = "import sys\nfrom calc import add\nsys.exit(0 if add(2, 2) == 4 else 2)\n"
TOOLS = "agent.tools=[view,search,find_files,edit,run,write_test,run_test,submit]"


def _repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})


def _script(path: Path, slow_command: str) -> Path:
    """Trajectory 0 finishes at once; the others run `slow_command` at step 3 (Jinja on the index)."""
    steps: list[dict[str, Any]] = [
        {"tool": "write_test", "args": {"path": "repro_test_{{ index }}.py", "content": REPRO}},
        {
            "tool": "edit",
            "args": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
        },
        {
            "tool": "run",
            "args": {
                "command": "{% if index == 0 %}true{% else %}" + slow_command + "{% endif %}",
                "timeout": 600,
            },
        },
        {"tool": "submit", "args": {}},
    ]
    path.write_text(json.dumps(steps))
    return path


def _cmd(repo: Path, script: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "patchjury.cli", "solve", "--repo", str(repo), "--issue", ISSUE,
        "--model", f"deterministic:{script}", "-n", "3", "--traj-workers", "2", "--env", "local", "-c", TOOLS,
        *extra,
    ]  # fmt: skip


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(scratch), "PATCHJURY_CACHE": str(tmp_path / "cache"), **extra}


def _run(cmd: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=300)


class Child:
    """A running command whose stderr is collected line by line (so a test can wait for a line)."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, check: Any, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.proc.kill()
        pytest.fail(f"never saw {what} (exit {self.proc.poll()}):\n{self.stderr[-3000:]}")

    def finish(self, timeout: float = 120) -> int:
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"did not exit within {timeout} s:\n{self.stderr[-3000:]}")
        self._reader.join(10)
        return rc


def _runs(repo: Path) -> list[Path]:
    root = repo / ".patchjury" / "runs"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _record(run_dir: Path, index: int) -> dict[str, Any] | None:
    paths = list((run_dir / "trajectories").glob(f"*/t{index:03d}.json"))
    if not paths:
        return None
    try:
        data: dict[str, Any] = json.loads(paths[0].read_text())
    except (OSError, ValueError):
        return None
    return data


def _resume_line(stderr: str) -> list[str]:
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("resume with: ")]
    return shlex.split(line.removeprefix("resume with: "))


def _kill_orphan(marker: Path) -> None:
    """The commands a SIGKILLed run left running (they would end at their own timeout): end them now."""
    for pid_file in marker.parent.glob(f"{marker.name}-*"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_ctrl_c_stops_at_the_step_boundary_judges_what_finished_and_resumes(tmp_path: Path) -> None:
    # Four trajectories on two slots: t000 finishes at once, t001 and t002 then hold both slots in a command that
    # waits for a release file, so t003 is queued for certain when Ctrl-C arrives (no race with a freed slot).
    repo, marker, release = _repo(tmp_path), tmp_path / "slow-started", tmp_path / "release"
    wait = f"touch {marker}-{{{{ index }}}}; while [ ! -e {release} ]; do sleep 0.05; done"
    script = _script(tmp_path / "script.yaml", wait)
    child = Child(_cmd(repo, script, "-n", "4"), _env(tmp_path))
    child.wait_for(
        lambda: Path(f"{marker}-1").exists() and Path(f"{marker}-2").exists(), "t001 and t002 waiting"
    )
    (run_dir,) = _runs(repo)
    child.wait_for(lambda: (_record(run_dir, 0) or {}).get("status") == "submitted", "trajectory 0 finished")
    child.proc.send_signal(signal.SIGINT)
    child.wait_for(lambda: "stopping: no new trajectories start" in child.stderr, "the Ctrl-C message")
    release.touch()  # the running commands end; their trajectories stop at this step boundary
    rc = child.finish()
    err = child.stderr
    assert rc == 130, err[-3000:]
    assert re.search(r"interrupted: 1 of 4 trajectories finished \(t000\)", err), err[-2000:]
    assert "jury over the finished ones: t000" in err
    outcome = json.loads((run_dir / "outcome.json").read_text())
    assert (
        outcome["status"] == "interrupted" and outcome["finished"] == ["t000"] and outcome["branch"] is None
    )
    for i in (1, 2):
        t = _record(run_dir, i)
        assert t is not None and t["status"] == "interrupted" and len(t["steps"]) == 3  # its step finished
    assert _record(run_dir, 3) is None  # queued: never started
    decision = json.loads((run_dir / "decision.json").read_text())
    assert decision["winner"] == "t000"

    resume = _resume_line(err)
    assert resume[resume.index("--run-id") + 1] == run_dir.name
    again = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", *resume[1:]],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((run_dir / "outcome.json").read_text())["status"] == "patch"
    t1 = _record(run_dir, 1)
    assert t1 is not None and t1["status"] == "submitted" and t1["resumes"][-1]["from_step"] == 3
    assert [len((_record(run_dir, i) or {})["steps"]) for i in range(4)] == [4, 4, 4, 4]


def test_second_ctrl_c_stops_now(tmp_path: Path) -> None:
    repo, marker = _repo(tmp_path), tmp_path / "sleeper.pid"
    script = _script(tmp_path / "script.yaml", f"echo $$ > {marker}; exec sleep 600")
    child = Child(_cmd(repo, script), _env(tmp_path))
    child.wait_for(lambda: marker.exists(), "the long command")
    sleeper = int(marker.read_text())
    child.proc.send_signal(signal.SIGINT)
    child.wait_for(lambda: "stopping: no new trajectories" in child.stderr, "the first Ctrl-C's message")
    child.proc.send_signal(signal.SIGINT)
    rc = child.finish(timeout=60)
    assert rc == 130, child.stderr[-3000:]
    assert "stopping now" in child.stderr and _resume_line(child.stderr)
    assert not _alive(sleeper), "the running command outlived the second Ctrl-C"
    assert not [p for p in (tmp_path / "scratch").iterdir() if p.name.startswith("pj-local-")]


def test_a_rerun_of_the_same_command_resumes_a_killed_run(tmp_path: Path) -> None:
    """SIGKILL cannot print anything: running the same command again finds the run and resumes it."""
    repo, marker = _repo(tmp_path), tmp_path / "slow-started"
    # A resumed trajectory re-runs the tool calls of its last checkpointed model answer: after `.done`
    # exists (the rerun), the same command returns at once.
    slow = f"if [ -e {marker}.done ]; then true; else echo $$ > {marker}-{{{{ index }}}}; touch {marker}; exec sleep 600; fi"
    script = _script(tmp_path / "script.yaml", slow)
    child = Child(_cmd(repo, script), _env(tmp_path))
    child.wait_for(lambda: marker.exists(), "the long command")
    (run_dir,) = _runs(repo)
    child.wait_for(lambda: (_record(run_dir, 0) or {}).get("status") == "submitted", "trajectory 0 finished")
    child.proc.send_signal(signal.SIGKILL)
    child.finish()
    _kill_orphan(marker)
    Path(f"{marker}.done").touch()
    again = subprocess.run(
        _cmd(repo, script), env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming the interrupted run {run_dir.name}" in again.stderr
    assert _runs(repo) == [run_dir]  # no second run folder
    t0, t1 = _record(run_dir, 0), _record(run_dir, 1)
    assert t0 is not None and t0["resumes"] == []  # finished: not redone
    assert t1 is not None and t1["resumes"][-1]["from_step"] >= 2  # resumed, not restarted from step 0
    fresh = subprocess.run(
        [*_cmd(repo, script), "--new-run"], env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert fresh.returncode == 0 and len(_runs(repo)) == 2  # --new-run starts over


def test_a_run_in_use_is_refused_and_a_dead_holders_lock_is_not(tmp_path: Path) -> None:
    repo, marker = _repo(tmp_path), tmp_path / "slow-started"
    slow = f"if [ -e {marker}.done ]; then true; else echo $$ > {marker}-{{{{ index }}}}; touch {marker}; exec sleep 600; fi"
    script = _script(tmp_path / "script.yaml", slow)
    first = Child(_cmd(repo, script, "--run-id", "shared"), _env(tmp_path))
    first.wait_for(lambda: marker.exists(), "the first run in its long command")
    second = _run(_cmd(repo, script, "--run-id", "shared"), tmp_path)
    assert second.returncode == 2
    (line,) = [ln for ln in second.stderr.splitlines() if ln.strip()][-1:]
    assert line.startswith("error: the run folder ") and f"in use by process {first.proc.pid}" in line
    # Without --run-id the same issue gets its own, unique run (the live one is not "resumed" under it).
    other = _run(_cmd(repo, _script(tmp_path / "quick.yaml", "true")), tmp_path)
    assert other.returncode == 0, other.stderr[-2000:]
    assert len(_runs(repo)) == 2
    first.proc.send_signal(signal.SIGKILL)
    first.finish()
    _kill_orphan(marker)
    Path(f"{marker}.done").touch()
    third = _run(_cmd(repo, script, "--run-id", "shared"), tmp_path)
    assert third.returncode == 0, third.stderr[-3000:]  # the dead holder's lock is gone with it


def test_run_ids_are_unique_within_a_second() -> None:
    ids = {new_run_id("add-2-2-returns-0") for _ in range(200)}
    assert len(ids) == 200


def test_auto_without_docker_refuses_local_and_demo_says_what_it_does(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    script = _script(tmp_path / "script.yaml", "true")
    env = _env(tmp_path, DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    cmd = [c for c in _cmd(repo, script) if c not in ("--env", "local")]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    (line,) = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: cannot reach the Docker engine") and "--env local" in line
    assert _runs(repo) == []  # nothing started, no run folder
    demo = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "demo", "--dir", str(tmp_path / "demo"), "-n", "2", "--latency", "0"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "the demo runs in LOCAL checkouts instead (NOT isolated" in demo.stderr
    assert "refuses this unless you pass --env local" in demo.stderr


def test_version_and_switches_in_help() -> None:
    from patchjury import __version__

    run = subprocess.run([sys.executable, "-m", "patchjury.cli", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == __version__
    for command in (["solve"], ["demo"], ["select"], ["swebench", "run"], ["swebench", "eval"], []):
        help_ = subprocess.run(
            [sys.executable, "-m", "patchjury.cli", *command, "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert help_.returncode == 0 and "<bool>" not in help_.stdout, command
    solve_help = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "solve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert re.search(r"--apply\s{2,}Commit", solve_help) and "--env" in solve_help


@pytest.mark.docker
def test_swebench_run_with_no_success_exits_1_and_prints_whole_error_lines(tmp_path: Path) -> None:
    rows = [
        {
            "instance_id": f"nobody__norecipe-{k}", "repo": "nobody/norecipe", "base_commit": "0" * 40,
            "version": "0.1", "problem_statement": "x", "hints_text": "", "created_at": "2026-01-01T00:00:00Z",
            "patch": "", "test_patch": "", "FAIL_TO_PASS": "[]", "PASS_TO_PASS": "[]",
            "environment_setup_commit": "",
        }
        for k in (1, 2)
    ]  # fmt: skip
    instances = tmp_path / "instances.jsonl"
    instances.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipes = tmp_path / "recipes.yaml"
    recipes.write_text("repos: {}\n")
    script = _script(tmp_path / "script.yaml", "true")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # not a terminal, no width given
    run = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "swebench", "run", "--instances", str(instances),
         "--recipes", str(recipes), "--model", f"deterministic:{script}", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]
    lines = run.stderr.splitlines()
    for k in (1, 2):
        (line,) = [ln for ln in lines if ln.startswith(f"nobody__norecipe-{k}: error")]
        # the whole reason on one line: not cut at 100 characters, not wrapped at 80 columns
        assert line.endswith(f"in {recipes}; add one under `repos:` (schema at the top of the file) or use the "
                             "official image (--use-official-image))"), line  # fmt: skip
    assert lines[-1].startswith("error: no instance produced a patch (2 failed, 0 ended without a patch)")


def test_tables_and_lines_are_not_cut_outside_a_terminal() -> None:
    """Issue 15 'also': piped output (no terminal, no $COLUMNS) keeps table cells and long lines whole."""
    cell = "tests/very/long/path/" + "x" * 120 + "/test_module.py::test_case"
    code = (
        "from rich.table import Table\n"
        "from patchjury.report.console import make_console\n"
        "t = Table('instance', 'reason')\n"
        f"t.add_row('inst-1', {cell!r})\n"
        "c = make_console(stderr=False)\n"
        "c.print(t)\n"
        f"c.print('error: ' + {cell!r})\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "…" not in out.stdout
    assert [ln for ln in out.stdout.splitlines() if cell in ln and "inst-1" in ln], out.stdout
    assert f"error: {cell}" in out.stdout.splitlines()

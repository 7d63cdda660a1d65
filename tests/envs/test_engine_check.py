"""Docker unreachable: one clear line naming the engine and the fix, before any image work (issue 15, item 4).

A fake `debootstrap` first on PATH records every call, so a build started before the engine check shows up
(without the check, `env.type=docker` debootstrapped for 86 s and then said "docker import failed").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import init_repo


@pytest.fixture
def no_engine(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose DOCKER_HOST is a missing socket, and the marker file a fake debootstrap writes."""
    bin_dir, marker = tmp_path / "bin", tmp_path / "debootstrap-called"
    bin_dir.mkdir()
    fake = bin_dir / "debootstrap"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {marker}\nexit 1\n')
    fake.chmod(0o755)
    env = {
        **os.environ,
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PATCHJURY_CACHE": str(tmp_path / "cache"),
    }
    return env, marker


def _cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patchjury.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_engine_line(run: subprocess.CompletedProcess[str], sock: str) -> None:
    assert run.returncode == 2, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"error: cannot reach the Docker engine at unix://{sock} (no such socket")
    assert "systemctl start docker" in lines[0] and "DOCKER_HOST" in lines[0]
    assert "import" not in lines[0] and "debootstrap" not in lines[0]


def test_images_bootstrap_checks_the_engine_first(no_engine: tuple[dict[str, str], Path]) -> None:
    env, marker = no_engine
    run = _cli(env, "images", "bootstrap", "--suite", "bookworm", "--force")
    _assert_engine_line(run, env["DOCKER_HOST"].removeprefix("unix://"))
    assert not marker.exists(), "debootstrap ran although the engine is unreachable"


def test_solve_with_env_docker_and_no_engine(no_engine: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, marker = no_engine
    repo = init_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    return a - b\n"})
    script = tmp_path / "script.yaml"
    script.write_text("- {tool: submit, args: {}}\n")
    run = _cli(
        env,
        "solve",
        "--repo",
        str(repo),
        "--issue",
        "add() subtracts",
        "--model",
        f"deterministic:{script}",
        "-c",
        "env.type=docker",
        cwd=repo,
    )
    _assert_engine_line(run, env["DOCKER_HOST"].removeprefix("unix://"))
    assert not marker.exists(), "debootstrap ran although the engine is unreachable"

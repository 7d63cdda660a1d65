"""`patchjury solve` and `patchjury demo` through the real command line, on repositories the tests create.

The deterministic model follows the demo's script (two right fixes, a wrong one, a half one, each with its
own reproduction test), so the jury has real work: only the right fix passes every test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gitrepo import git

from patchjury.core.demo_repo import ISSUE, create_demo_repo, script

GOOD_LINE = "+    return price - price * percent / 100"
SETUP = "python3 -c 'import shop.pricing' && echo deps-ok"


def patchjury(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patchjury.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
        cwd=cwd,
        timeout=900,
    )


@pytest.mark.slow
def test_dirty_tree_and_missing_key_fail_before_any_work(tmp_path: Path) -> None:
    repo = create_demo_repo(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    run = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "solve", "--repo", str(repo), "--issue", ISSUE, "--model", "openai/gpt-4o"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 2
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith("error: missing API key: openai/gpt-4o needs OPENAI_API_KEY")
    )
    assert "Traceback" not in run.stderr
    assert not (repo / ".patchjury").exists()  # nothing started

    (repo / "shop" / "pricing.py").write_text("# my unfinished work\n")
    run = patchjury(
        "solve",
        "--repo",
        str(repo),
        "--issue",
        ISSUE,
        "-c",
        "model.type=deterministic",
        "-c",
        "model.script=[]",
    )
    assert (
        run.returncode == 2
        and "uncommitted changes (shop/pricing.py)" in run.stderr
        and "--allow-dirty" in run.stderr
    )
    assert (repo / "shop" / "pricing.py").read_text() == "# my unfinished work\n"

    run = patchjury("solve", "--repo", str(repo), "-c", "model.type=deterministic", "-c", "model.script=[]")
    assert run.returncode == 2 and "exactly one of --issue TEXT or --issue-file FILE" in run.stderr


@pytest.mark.docker
@pytest.mark.slow
def test_solve_end_to_end_in_docker_with_apply(tmp_path: Path, base_image: str) -> None:
    repo = create_demo_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    script_file = tmp_path / "script.yaml"
    script_file.write_text(yaml.safe_dump({"steps": script()}))
    issue_file = tmp_path / "ISSUE.md"
    issue_file.write_text(ISSUE)
    run = patchjury(
        "solve", "--repo", str(repo), "--issue-file", str(issue_file), "-n", "4", "--traj-workers", "2",
        "--run-id", "e2e", "--apply",
        "-c", "model.type=deterministic", "-c", f"model.script_path={script_file}", "-c", "model.name=det",
        "-c", "env.type=docker", "-c", f"env.image={base_image}", "--setup", SETUP,
    )  # fmt: skip
    from patchjury.envs.images import env_image_tag

    env_image = env_image_tag(base_image, repo, head, [SETUP])
    try:
        _check_solve_outputs(run, repo, head)
        report = (repo / ".patchjury" / "runs" / "e2e" / "report.md").read_text()
        assert (
            f"Docker image {env_image}" in report
        )  # --setup built an environment image with the repo inside
    finally:  # the image is unique to this test's repository: remove it when it was built
        if subprocess.run(["docker", "image", "inspect", env_image], capture_output=True).returncode == 0:
            subprocess.run(["docker", "rmi", env_image], capture_output=True)


def _check_solve_outputs(run: subprocess.CompletedProcess[str], repo: Path, head: str) -> None:
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    run_dir = repo / ".patchjury" / "runs" / "e2e"
    outcome = json.loads((run_dir / "outcome.json").read_text())
    assert outcome["status"] == "patch" and outcome["n_trajectories"] == 4 and outcome["n_candidates"] == 4
    assert outcome["winner"] in ("t000", "t001")  # the right fix (a cluster of two) wins the vote

    # The branch: one commit on top of HEAD, with the right fix and a summarizing message.
    branch = outcome["branch"]
    assert branch == "patchjury/apply-discount-treats-the-percentage-as"
    assert git(repo, "rev-parse", f"{branch}^") == head
    show = git(repo, "show", branch)
    assert GOOD_LINE in show and "repro_discount" not in show  # reproduction tests are not part of the fix
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith("Fix: apply_discount treats the percentage as a fraction")
    assert "Changes shop/pricing.py (+1/-1)" in message and "Own reproduction test: pass" in message
    # The user's checkout is untouched.
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main" and git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""
    assert "return price - price * percent\n" in (repo / "shop" / "pricing.py").read_text()

    # The report and the other run files.
    report = (run_dir / "report.md").read_text()
    assert "passes its own reproduction test" in report and "| t003 |" in report
    assert "### The jury" in report and GOOD_LINE in report
    assert "data:image/png;base64," in (run_dir / "report.html").read_text()
    assert len((run_dir / "candidates.jsonl").read_text().splitlines()) == 4
    assert len(list((run_dir / "trajectories").rglob("t00*.json"))) == 4
    decision = json.loads((run_dir / "decision.json").read_text())
    votes = {e["candidate_id"]: e["votes"] for e in decision["evidence"]}
    assert votes["t000"] > votes["t003"] > votes["t002"]  # the tests tell the fixes apart
    assert (run_dir / "chosen.patch").read_text().count(GOOD_LINE) == 1
    assert "branch:  patchjury/apply-discount" in run.stderr


@pytest.mark.slow
def test_demo_runs_offline(tmp_path: Path) -> None:
    # Local env keeps this one independent of Docker (the Docker path is covered above); no API key needed.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    run = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "demo", "--dir", str(tmp_path), "--latency", "0", "-c", "env.type=local"],
        capture_output=True, text=True, env={**env, "COLUMNS": "160"}, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    assert "deterministic scripted model" in run.stdout and "OFFLINE DEMO" in run.stdout
    assert "Chosen patch" in run.stdout and "passes its own reproduction test" in run.stdout
    repo = tmp_path / "shop-demo"
    assert GOOD_LINE in git(repo, "show", "patchjury/apply-discount-treats-the-percentage-as")

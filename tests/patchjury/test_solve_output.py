"""What `patchjury solve` shows: `--verbose` streams every step, `--quiet` prints only the result, and the HTML
report opens with the title and verdict, colours the chosen diff and links a page per trajectory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from patchjury.core.demo_repo import ISSUE, create_demo_repo, script
from patchjury.trajectory_record import load_trajectory


def solve(tmp: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    repo = create_demo_repo(tmp)
    script_file, issue_file = tmp / "script.yaml", tmp / "ISSUE.md"
    script_file.write_text(yaml.safe_dump({"steps": script()}))
    issue_file.write_text(ISSUE)
    run = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "solve", "--repo", str(repo), "--issue-file", str(issue_file),
         "-n", "2", "--run-id", "out", "--model", f"deterministic:{script_file}", "-c", "env.type=local", *flags],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"}, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    return run, repo / ".patchjury" / "runs" / "out"


@pytest.mark.slow
def test_verbose_streams_each_step_and_the_html_report_links_each_trajectory(tmp_path: Path) -> None:
    run, run_dir = solve(tmp_path, "--verbose")
    err = run.stderr
    for index in (0, 1):  # both trajectories, step by step: thought, call, abridged observation
        assert f"t00{index} starts (deterministic:" in err and f"t00{index} step 1" in err
        assert re.search(rf"t00{index} submitted after \d+ steps", err)
    assert "  -> write_test {" in err and "  <- Wrote reproduction test" in err
    assert "more characters]" in err or max(len(line) for line in err.splitlines()) < 600  # abridged
    assert "chosen patch passes its own reproduction test" in err
    page = (run_dir / "report.html").read_text()
    body = page[page.index("<body>") :]
    assert body.index("patchjury: apply_discount treats the percentage as a fraction") < body.index("<img")
    assert '<span class="add">+    return price - price * percent / 100</span>' in body  # the coloured diff
    links = re.findall(r'<a href="(trajectories/[^"]+\.html)">', body)
    assert len(links) == 2
    for link in links:
        traj = (run_dir / link).read_text()
        record = load_trajectory((run_dir / link).with_suffix(".json"))
        assert f"<h1>{record.instance_id} {record.traj_id}: {record.status}</h1>" in traj
        assert traj.count('class="step"') == record.totals.steps and "→ write_test" in traj
        assert 'href="../../report.html"' in traj and "<script" not in traj  # opens from disk, no server


@pytest.mark.slow
def test_quiet_prints_only_the_result(tmp_path: Path) -> None:
    run, _ = solve(tmp_path, "--quiet")
    err = run.stderr
    assert err.lstrip().startswith("chosen patch passes its own reproduction test: winner")
    for noise in (
        "run directory",
        "warning",
        "t000 step",
        "trajectories done",
        "retrying",
    ):  # header, progress
        assert noise not in err, noise
    assert "report:" in err and "html:" in err and run.stdout == ""
    bad = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "solve", "--issue", "x", "--verbose", "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "--verbose and --quiet contradict each other" in bad.stderr

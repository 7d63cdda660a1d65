"""`--adaptive` end to end (the offline demo, local sandboxes): the first wave's two trajectories agree, the jury
is confident, and the run stops there; the report, adaptive.json and the outcome say so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml


def test_demo_with_adaptive_sampling_stops_when_the_jury_is_sure(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable, "-m", "patchjury.cli", "demo", "--dir", str(tmp_path), "-n", "6", "--latency", "0",
            "-c", "env.type=local", "-c", "adaptive.enabled=true", "-c", "adaptive.threshold=0.8",
        ],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    run_dir = next(tmp_path.glob("*/.patchjury/runs/*"))
    adaptive = json.loads((run_dir / "adaptive.json").read_text())
    assert (adaptive["budget"], adaptive["used"], adaptive["saved"]) == (6, 2, 4)
    assert adaptive["stopped"].startswith("the jury was confident") and adaptive["waves"][0]["sampled"] == 2
    assert len((run_dir / "candidates.jsonl").read_text().splitlines()) == 2
    assert sorted(p.name for p in (run_dir / "trajectories").rglob("t*.json")) == ["t000.json", "t001.json"]
    report = (run_dir / "report.md").read_text()
    assert "- Adaptive sampling: sampled 2 of 6 trajectories in 1 wave(s), saved 4 (67%)" in report
    assert json.loads((run_dir / "outcome.json").read_text())["n_trajectories"] == 2


def _solve_cmd(root: Path, run_id: str) -> list[str]:
    """`solve --adaptive` on the demo repository with the demo's four scripted variants (they disagree, so a
    threshold of 0.97 samples all three waves: confidence 0.95, 0.84, 1.00)."""
    from patchjury.core.demo_repo import ISSUE

    return [
        sys.executable, "-m", "patchjury.cli", "solve", "--repo", str(root / "shop-demo"), "--issue", ISSUE,
        "--model", f"deterministic:{root / 'script.yaml'}", "--env", "local", "-n", "6", "--traj-workers", "2",
        "--run-id", run_id, "-c", "adaptive.enabled=true", "-c", "adaptive.threshold=0.97",
        "-c", "model.latency_s=0.3",
    ]  # fmt: skip


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a backgrounded suite inherits SIGINT ignored


@pytest.mark.slow
def test_a_rerun_after_ctrl_c_replays_the_same_waves(tmp_path: Path) -> None:
    """Ctrl-C during the second wave: adaptive.json says it was interrupted; the rerun replays the same waves as an
    uninterrupted run (same verdicts, same stop) without redoing the first wave's finished trajectories."""
    from patchjury.core.demo_repo import create_demo_repo, script

    create_demo_repo(tmp_path)
    (tmp_path / "script.yaml").write_text(yaml.safe_dump(script()))
    env = {**os.environ, "COLUMNS": "200"}
    runs = tmp_path / "shop-demo" / ".patchjury" / "runs"

    clean = subprocess.run(
        _solve_cmd(tmp_path, "clean"), capture_output=True, text=True, timeout=600, env=env
    )
    assert clean.returncode == 0, clean.stderr[-3000:]
    expected = json.loads((runs / "clean" / "adaptive.json").read_text())
    assert [w["sampled"] for w in expected["waves"]] == [2, 4, 6]

    child = subprocess.Popen(
        _solve_cmd(tmp_path, "cut"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=_sigint_as_in_a_terminal,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not list((runs / "cut").rglob("t002.json")) and time.monotonic() < deadline:
            assert child.poll() is None, child.communicate()
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=300)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, stderr[-3000:]
    cut = json.loads((runs / "cut" / "adaptive.json").read_text())
    assert cut["stopped"] == "interrupted: no further wave was started" and cut["used"] == 4, cut
    first = {p.name: p.stat().st_mtime_ns for p in (runs / "cut" / "trajectories").rglob("t00[01].json")}
    assert len(first) == 2

    rerun = subprocess.run(_solve_cmd(tmp_path, "cut"), capture_output=True, text=True, timeout=600, env=env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    replayed = json.loads((runs / "cut" / "adaptive.json").read_text())
    assert replayed == expected
    assert {
        p.name: p.stat().st_mtime_ns for p in (runs / "cut" / "trajectories").rglob("t00[01].json")
    } == first
    assert (
        "- Adaptive sampling: sampled 6 of 6 trajectories in 3 wave(s), saved 0 (0%)"
        in (runs / "cut" / "report.md").read_text()
    )

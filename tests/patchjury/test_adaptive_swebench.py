"""`swebench run --adaptive` in Docker with the deterministic model (scripts/scale_workload.py: every trajectory
writes the same fix): each instance stops after its first wave; adaptive.json and result.json record the waves,
and the run's report (summary.md, the closing lines) says how much was sampled and saved, and why it stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from scale_workload import make_workload  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_swebench_run_with_adaptive_sampling_reports_what_it_saved(tmp_path: Path, base_image: str) -> None:
    wl = make_workload(tmp_path / "wl", 2)
    out = tmp_path / "out"
    run = subprocess.run(
        [
            sys.executable, "-m", "patchjury.cli", "swebench", "run", "--instances", str(wl.instances),
            "--repo-cache", str(wl.repo_cache), "--no-clone", "--recipes", str(wl.recipes), "--out", str(out),
            "-n", "6", "--traj-workers", "2", "--workers", "1", "--adaptive", "--quiet",
            *[a for c in wl.model(latency_s=0.0) for a in ("-c", c)],
        ],
        capture_output=True, text=True, timeout=900, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    for iid in wl.ids:
        inst = out / "instances" / iid
        saved = json.loads((inst / "adaptive.json").read_text())
        assert (saved["budget"], saved["used"], saved["saved"]) == (6, 2, 4)
        assert saved["stopped"].startswith("the jury was confident")
        assert json.loads((inst / "result.json").read_text())["adaptive"] == saved
        assert sorted(p.name for p in inst.glob("trajectories/*/t*.json")) == ["t000.json", "t001.json"]
    line = (
        "adaptive sampling: sampled 4 of 12 trajectories over 2 instance(s), saved 8 (67%); 2 instance(s) "
        "stopped early because the jury was confident"
    )
    assert line in run.stderr  # the closing lines (the console writes to stderr)
    md = (out / "summary.md").read_text()
    assert "## Adaptive sampling" in md and "Adaptive sampling: sampled 4 of 12" in md
    assert f"| {wl.ids[0]} | 2 of 6 | 4 | the jury was confident (confidence" in md

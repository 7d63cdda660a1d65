"""`--adaptive` end to end (the offline demo, local sandboxes): the first wave's two trajectories agree, the jury
is confident, and the run stops there; the report, adaptive.json and the outcome say so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


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

"""scripts/bench_scale.py reads trajectories through the one loader (patchjury.trajectory_record.load_trajectory),
like every other reader: its audit counts lost, duplicated and resumed trajectories from typed records."""

from __future__ import annotations

import json
from pathlib import Path

import bench_scale
from scale_workload import Workload

from patchjury.trajectory_record import Resume, StepRecord, TrajectoryRecord


def _write(inst: Path, iid: str, tid: str, record: TrajectoryRecord) -> None:
    path = inst / "trajectories" / iid / f"{tid}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(record.to_json())


def test_audit_reads_typed_records_including_a_resume_before_the_first_checkpoint(tmp_path: Path) -> None:
    iid = "x__y-1"
    inst = tmp_path / "instances" / iid
    steps = [StepRecord(step=1), StepRecord(step=2)]
    # t000 resumed from step 1; t001 restarted afresh (from_step None: died before its first checkpoint);
    # t002 recorded step 2 twice; t003 never finished.
    _write(
        inst,
        iid,
        "t000",
        TrajectoryRecord(status="submitted", steps=steps, resumes=[Resume(at=1.0, from_step=1)]),
    )
    _write(inst, iid, "t001", TrajectoryRecord(status="submitted", steps=steps, resumes=[Resume(at=1.0)]))
    _write(inst, iid, "t002", TrajectoryRecord(status="submitted", steps=[*steps, StepRecord(step=2)]))
    _write(inst, iid, "t003", TrajectoryRecord(status="running", steps=steps[:1]))
    (inst / "candidates.jsonl").write_text(
        "".join(json.dumps({"candidate_id": f"t{k:03d}"}) + "\n" for k in range(4))
    )
    wl = Workload(instances=tmp_path, repo_cache=tmp_path, recipes=tmp_path, scripts=tmp_path, ids=[iid])
    assert bench_scale._audit(wl, tmp_path, 4) == (1, 1, 1)

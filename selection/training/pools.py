"""The labeled benchmark pools of SWE-bench Lite's training instances, built the same way by the evidence collector
and the benchmark (so candidate keys match).

- `mixed`: lite_candidates_train (9 runs of 5 systems, no tests) merged with lite_pools_with_tests_train (3
  SWE-agent runs and CodeR's run, each with the scripts its trajectory wrote and the trajectory). CodeR's rows are
  the same patches in both files (up to surrounding whitespace): merged into one candidate that keeps the tests
  and trajectory. Identical patches from different runs stay separate candidates (independent samples agreeing).
- `same_agent`: only the 3 SWE-agent runs, on the instances where all three answered (what a patchjury run looks
  like: one agent sampled several times).

Candidates get positional keys `c0, c1, ...` per instance (old rows in file order, then new rows); tests get the
command the trajectory last ran them with (selection.trajectories), else `python <path>`. Labels and provenance
stay on the Candidate as extra fields for the benchmark; selection never reads them (the collector passes only
patches and tests on).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from patchjury.records import Candidate, TestFile
from patchjury.selection.candidates import text_lines
from patchjury.selection.trajectory_formats import parse

OLD = "candidates/lite_candidates_train.jsonl.gz"
NEW = "candidates/lite_pools_with_tests_train.jsonl.gz"
MINI = "trajectories/verified_mini_gemini3pro_train.jsonl.gz"
SAME_AGENT_RUNS = ("cost_2_1", "cost_2_2", "cost_2_3")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for _, line in text_lines(path) if line.strip()]


def script_tests(row: dict[str, Any]) -> list[TestFile]:
    """The row's scripts, each with the command its trajectory last ran it with (`python <path>` otherwise)."""
    traj = parse(row.get("trajectory") or [])
    ran = {s.target: s.action for s in traj.steps if s.kind in ("run", "test") and s.target}
    return [
        TestFile(path=t["path"], content=t["content"], command=ran.get(t["path"]) or f"python {t['path']}")
        for t in row.get("tests") or []
    ]


def as_traj(row: dict[str, Any]) -> dict[str, Any] | None:
    """A stored action/observation list in SWE-agent's `.traj` shape (what selection.trajectories reads)."""
    steps = row.get("trajectory")
    if not steps:
        return None
    return {"trajectory": steps, "info": {"exit_status": row.get("exit_status")}}


def _candidate(iid: str, key: str, row: dict[str, Any], extra: dict[str, Any] | None = None) -> Candidate:
    data = {k: v for k, v in row.items() if k not in ("tests", "trajectory", "model_patch", "instance_id")}
    return Candidate(
        instance_id=iid,
        candidate_id=key,
        model_patch=row.get("model_patch") or "",
        **data,
        **(extra or {}),
    )


def lite_pools(data_dir: Path, setting: str = "mixed") -> dict[str, list[Candidate]]:
    """instance_id -> candidates of the `mixed` or `same_agent` pool (see the module docstring)."""
    new = _rows(data_dir / NEW)
    pools: dict[str, list[Candidate]] = {}
    if setting == "same_agent":
        by: dict[str, list[dict[str, Any]]] = {}
        for row in new:
            if row.get("run") in SAME_AGENT_RUNS:
                by.setdefault(row["instance_id"], []).append(row)
        for iid, rows in by.items():
            if {r["run"] for r in rows} == set(SAME_AGENT_RUNS):
                rows.sort(key=lambda r: SAME_AGENT_RUNS.index(r["run"]))
                pools[iid] = [
                    _candidate(iid, f"c{i}", r, {"tests": script_tests(r), "trajectory": as_traj(r)})
                    for i, r in enumerate(rows)
                ]
        return pools
    if setting != "mixed":
        raise ValueError(f"unknown pool setting {setting!r}: mixed or same_agent")
    old: set[int] = set()
    for row in _rows(data_dir / OLD):
        iid = row["instance_id"]
        pool = pools.setdefault(iid, [])
        pool.append(_candidate(iid, f"c{len(pool)}", row))
        old.add(id(pool[-1]))
    for row in new:
        iid = row["instance_id"]
        pool = pools.setdefault(iid, [])
        extra = {"tests": script_tests(row), "trajectory": as_traj(row)}
        same = next(
            (
                c
                for c in pool
                if id(c) in old
                and (c.model_extra or {}).get("system") == row.get("system")
                and c.model_patch.strip() == (row.get("model_patch") or "").strip()
                and not c.tests
            ),
            None,
        )
        if same is not None:  # CodeR: one candidate, with the tests and trajectory of the second file
            same.tests = script_tests(row)
            same.trajectory = as_traj(row)
            continue
        pool.append(_candidate(iid, f"c{len(pool)}", row, extra))
    return pools


def same_agent_keys(mixed: dict[str, list[Candidate]]) -> dict[str, list[str]]:
    """instance_id -> the keys (in the mixed pool) of the 3 SWE-agent runs' candidates, on the instances where all
    three answered: the same-agent setting, replayed from the mixed pool's evidence."""
    out: dict[str, list[str]] = {}
    for iid, pool in mixed.items():
        by_run = {(c.model_extra or {}).get("run"): c.candidate_id for c in pool}
        if all(run in by_run for run in SAME_AGENT_RUNS):
            out[iid] = [by_run[run] for run in SAME_AGENT_RUNS]
    return out


def mini_traj(row: dict[str, Any]) -> dict[str, Any]:
    """A stored mini-swe-agent run (`steps`: command, returncode, observation) as the `.traj.json` mini-swe-agent
    1.x writes: one ```bash block per assistant message, `<returncode>`/`<output>` replies."""
    messages: list[dict[str, Any]] = []
    for step in row.get("steps") or []:
        messages.append(
            {"role": "assistant", "content": f"THOUGHT: next step.\n\n```bash\n{step['command']}\n```"}
        )
        rc, obs = step.get("returncode"), step.get("observation") or ""
        messages.append({"role": "user", "content": f"<returncode>{rc}</returncode>\n{obs}"})
    info = {
        "exit_status": row.get("exit_status"),
        "submission": row.get("model_patch"),
        "mini_version": "1.15.0",
    }
    return {"info": info, "messages": messages, "trajectory_format": "mini-swe-agent-1"}


def trajectory_pools(data_dir: Path) -> dict[str, list[Candidate]]:
    """Every labeled candidate that comes with its trajectory: the 3 SWE-agent runs and CodeR on Lite's training
    instances, and the mini-swe-agent run on Verified's (one candidate per instance), grouped by instance (an
    instance in both splits holds both). For training and auditing trajectory-aware verifiers."""
    pools: dict[str, list[Candidate]] = {}
    for row in _rows(data_dir / NEW):
        pool = pools.setdefault(row["instance_id"], [])
        extra = {"tests": script_tests(row), "trajectory": as_traj(row)}
        pool.append(_candidate(row["instance_id"], f"c{len(pool)}", row, extra))
    for row in _rows(data_dir / MINI):
        pool = pools.setdefault(row["instance_id"], [])
        tests = [TestFile(path=t["path"], content=t["content"]) for t in row.get("tests") or []]
        data = {k: v for k, v in row.items() if k not in ("steps", "report")}
        pool.append(
            _candidate(
                row["instance_id"], f"c{len(pool)}", data, {"tests": tests, "trajectory": mini_traj(row)}
            )
        )
    return pools

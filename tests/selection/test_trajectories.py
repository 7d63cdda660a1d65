"""Trajectories of SWE-agent, mini-swe-agent and patchjury read into one shape, on recorded real runs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from patchjury.selection.trajectories import load
from patchjury.selection.trajectory_formats import TrajectoryError, parse
from patchjury.selection.trajectory_steps import run_target

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.usefixtures("shared_data")  # fails under CI=true when the data is missing


def _rows(rel: str, n: int) -> list[dict[str, Any]]:
    out = []
    with gzip.open(DATA / rel, "rt") as fh:
        for line in fh:
            out.append(json.loads(line))
            if len(out) == n:
                break
    return out


def mini_traj_json(row: dict[str, Any]) -> dict[str, Any]:
    """A recorded mini-swe-agent run as the `.traj.json` file mini-swe-agent 1.x writes: one ```bash block per
    assistant message, `<returncode>`/`<output>` user replies (format of gruckion/mini-swe-agent's trajs/)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a helpful assistant..."},
        {"role": "user", "content": "<pr_description>...</pr_description>"},
    ]
    for step in row["steps"]:
        messages.append(
            {"role": "assistant", "content": f"THOUGHT: next.\n\n```bash\n{step['command']}\n```"}
        )
        rc = step["returncode"]
        messages.append({"role": "user", "content": f"<returncode>{rc}</returncode>\n{step['observation']}"})
    return {
        "info": {
            "exit_status": row["exit_status"],
            "submission": row["model_patch"],
            "mini_version": "1.15.0",
        },
        "messages": messages,
        "trajectory_format": "mini-swe-agent-1",
    }


def test_run_targets() -> None:
    assert run_target("python reproduce.py") == ("run", "reproduce.py", "python reproduce.py")
    assert run_target("cd /testbed && python3 /testbed/bug.py --x 1") == (
        "run",
        "bug.py",
        "python3 bug.py --x 1",
    )
    assert run_target("pytest -q tests/test_a.py") == ("test", "tests/test_a.py", "pytest -q tests/test_a.py")
    assert run_target("python x.py > out.txt")[2] is None  # not rerunnable as a plain command
    assert run_target("ls -la") == ("other", None, None)


@needs_data
def test_swe_agent_rows_and_traj_files(tmp_path: Path) -> None:
    row = next(
        r
        for r in _rows("candidates/lite_pools_with_tests_train.jsonl.gz", 40)
        if r["tests"] and r["trajectory"]
    )
    rows_view = parse(row["trajectory"])
    assert rows_view.format == "swe-agent" and rows_view.present
    assert {s.kind for s in rows_view.steps} >= {"edit", "run"}
    path = tmp_path / "x.traj"
    path.write_text(
        json.dumps(
            {
                "environment": "swe_main",
                "trajectory": row["trajectory"],
                "info": {"exit_status": row["exit_status"], "submission": row["model_patch"]},
            }
        )
    )
    view = load(path)
    assert view.format == "swe-agent" and view.exit_status == row["exit_status"]
    assert view.submission == row["model_patch"]
    scripts = {s.path: s for s in view.scripts()}
    test = row["tests"][0]
    assert test["path"] in scripts and scripts[test["path"]].command.startswith("python")
    assert scripts[test["path"]].content.strip() == test["content"].strip()  # create + edits replayed


@needs_data
def test_mini_swe_agent_rows_and_traj_json(tmp_path: Path) -> None:
    row = next(r for r in _rows("trajectories/verified_mini_gemini3pro_train.jsonl.gz", 20) if r["tests"])
    assert parse(row["steps"]).format == "mini-swe-agent"
    path = tmp_path / "run.traj.json"
    path.write_text(json.dumps(mini_traj_json(row)))
    view = load(path)
    assert view.format == "mini-swe-agent" and view.exit_status == row["exit_status"]
    assert len(view.steps) == len(row["steps"]) and view.steps[2].returncode == row["steps"][2]["returncode"]
    written = {s.path: s.content for s in view.scripts()}
    assert any(written.get(t["path"], "").strip() == t["content"].strip() for t in row["tests"])  # heredocs


def test_patchjury_record_and_bad_files(tmp_path: Path) -> None:
    from patchjury.trajectory_record import TrajectoryRecord

    calls = [
        {
            "id": "a",
            "function": {
                "name": "create",
                "arguments": json.dumps({"path": "r.py", "content": "print(1)\n"}),
            },
        },
        {"id": "b", "function": {"name": "run", "arguments": json.dumps({"command": "python r.py"})}},
    ]
    record = TrajectoryRecord(
        status="submitted",
        messages=[
            {"role": "assistant", "tool_calls": calls},
            {"role": "tool", "tool_call_id": "b", "content": "1"},
        ],
    ).model_dump()
    view = parse(record)
    assert view.format == "patchjury" and [s.kind for s in view.steps] == ["edit", "run"]
    assert [(s.path, s.command) for s in view.scripts()] == [("r.py", "python r.py")]
    assert parse({"something": "else"}).format == "unknown" and not parse(42).present
    with pytest.raises(TrajectoryError, match="damaged trajectory record"):
        parse({**record, "steps": [{}]})  # ours, validated by the one loader
    bad = tmp_path / "bad.traj"
    bad.write_text("{not json")
    with pytest.raises(TrajectoryError, match="is not JSON"):
        load(bad)
    with pytest.raises(TrajectoryError, match="cannot read"):
        load(tmp_path / "missing.traj")


def test_unreadable_trajectory_is_an_explained_outcome(tmp_path: Path) -> None:
    """A candidate whose trajectory file is missing or not JSON is scored without it; the decision says so."""
    from patchjury.records import Candidate, Task
    from patchjury.selection.config import SelectionConfig
    from patchjury.selection.pipeline import run_instance

    bad = tmp_path / "broken.traj"
    bad.write_text("{")
    patch = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    cands = [
        Candidate(instance_id="i", candidate_id="a", model_patch=patch, trajectory=str(bad)),
        Candidate(
            instance_id="i", candidate_id="b", model_patch=patch, trajectory=str(tmp_path / "gone.traj")
        ),
    ]
    run = run_instance(Task(instance_id="i", problem_statement="x should be 2"), cands, SelectionConfig())
    assert run.decision.winner == "a"
    notes = [r for r in run.decision.reasons if "scored without its trajectory" in r]
    assert len(notes) == 2 and "is not JSON" in notes[0] and "cannot read trajectory" in notes[1]


def test_refused_edits_are_not_replayed_and_a_shown_file_wins() -> None:
    """SWE-agent refuses an edit that fails its lint check (or that the shell cannot parse) and leaves the file as
    it was; after an accepted edit it shows the file. The script is what the agent ran, not every edit it tried."""
    ok = "[File: /r/repro.py (2 lines total)]\n1:import m\n2:print(m.f(1))\nFile updated."
    view = parse(
        [
            {"action": "create repro.py\n", "observation": "[File: /r/repro.py (1 lines total)]\n1:\n"},
            {"action": "edit 1:1\nimport m\nprint(m.f(1))\nend_of_edit\n", "observation": ok},
            {
                "action": "edit 2:2\nprint(m.f(1)\nend_of_edit\n",
                "observation": "Your proposed edit has introduced new syntax error(s). Please understand the fixes "
                "and retry your edit commmand.\n\nERRORS:\n- E999 SyntaxError\n\nThis is how your edit would have "
                "looked if applied\n[File: /r/repro.py (2 lines total)]\n1:import m\n2:print(m.f(1)\n",
            },
            {
                "action": "edit 2:2\nprint('x' (\nend_of_edit\n",
                "observation": "/bin/bash: line 2: syntax error near unexpected token `('\n",
            },
            {"action": "create repro.py\n", "observation": "Error: File 'repro.py' already exists.\n" + ok},
            {"action": "python repro.py\n", "observation": "1"},
        ]
    )
    assert [(s.path, s.content) for s in view.scripts()] == [("repro.py", "import m\nprint(m.f(1))")]
    # the file as shown after an edit is its text, whatever the replay of line ranges gave
    shown = "[File: /r/b.py (3 lines total)]\n1:a = 1\n2:\n3:print(a)\nFile updated."
    view = parse(
        [
            {"action": "create b.py\n", "observation": "[File: /r/b.py (1 lines total)]\n1:\n"},
            {"action": "edit 1:5\na = 1\n\nprint(a)\n\nend_of_edit\n", "observation": shown},
            {"action": "PYTHONPATH=. python b.py\n", "observation": "1"},
        ]
    )
    assert [(s.path, s.content, s.command) for s in view.scripts()] == [
        ("b.py", "a = 1\n\nprint(a)", "PYTHONPATH=. python b.py")
    ]


@needs_data
def test_scripts_from_every_real_swe_agent_and_coder_trajectory(tmp_path: Path) -> None:
    """The front door's scripts equal the pools' scripts (rebuilt and checked against the line counts the
    trajectories show) for every script the 653 real SWE-agent and CodeR runs created and ran, read from `.traj`
    files as SWE-agent writes them: 248 of 248 SWE-agent scripts; CodeR 116 of 119 (of the 3 others the pools hold
    an empty file for 2). Before refused edits were skipped and shown files read: 228 and 83."""
    from patchjury.selection.candidates import load_candidates

    want: dict[tuple[str, str], dict[str, str]] = {}
    with gzip.open(DATA / "candidates/lite_pools_with_tests_train.jsonl.gz", "rt") as fh:
        for line in fh:
            row = json.loads(line)
            run = row["run"] if row["system"].startswith("sweagent") else "coder"
            info = {"exit_status": row["exit_status"], "submission": row["model_patch"]}
            folder = tmp_path / run
            folder.mkdir(exist_ok=True)
            (folder / f"{row['instance_id']}.traj").write_text(
                json.dumps({"environment": "swe_main", "trajectory": row["trajectory"], "info": info})
            )
            want[(row["instance_id"], run)] = {t["path"]: t["content"].rstrip() for t in row["tests"]}
    same: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}  # coder?: [equal, differ]
    cands = load_candidates(tmp_path)
    assert len(cands) == 653
    for cand in cands:
        scripts = want[(cand.instance_id, cand.candidate_id)]
        for test in cand.tests:
            if test.path in scripts:
                same[cand.candidate_id == "coder"][test.content.rstrip() != scripts[test.path]] += 1
    assert same[False] == [248, 0]
    assert same[True][0] >= 116 and same[True][1] <= 3, same


def test_the_moved_names_are_still_importable_from_selection_trajectories() -> None:
    """The parsers moved to selection.trajectory_formats and selection.trajectory_steps; the old module re-exports
    them, so callers importing from selection.trajectories keep working."""
    from patchjury.selection import trajectories, trajectory_formats, trajectory_steps

    for name in ("Format", "Trajectory", "TrajectoryError", "parse"):
        assert getattr(trajectories, name) is getattr(trajectory_formats, name), name
    for name in ("Step", "StepKind", "run_target"):
        assert getattr(trajectories, name) is getattr(trajectory_steps, name), name
    assert set(trajectories.__all__) >= {"load", "trajectory_files", "candidates_from_trajectories"}

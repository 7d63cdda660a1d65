"""Loading candidate pools: both formats, clear errors per bad line, nothing lost."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from patchjury.selection.candidates import group_by_instance, load_candidates, load_tasks
from patchjury.selection.errors import CandidateFormatError


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_ours_and_swebench_formats(tmp_path: Path) -> None:
    (tmp_path / "traj.json").write_text("{}")
    rows = [
        {
            "instance_id": "a",
            "model_patch": "--- a/x\n+++ b/x\n",
            "tests": [{"path": "t.py", "content": "x"}],
            "trajectory": "traj.json",
            "resolved": True,
        },
        {"instance_id": "a", "model_patch": None, "model_name_or_path": "other"},
        {"instance_id": "b", "model_patch": "", "candidate_id": "mine"},
        {"instance_id": "a", "model_patch": "p"},
    ]
    src = _write(tmp_path / "c.jsonl", rows)
    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    for path in (src, gz):
        cands = load_candidates(path)
        assert [c.candidate_id for c in cands] == ["c0", "c1", "mine", "c2"]
        assert cands[0].tests[0].path == "t.py" and cands[0].model_extra == {"resolved": True}
        assert cands[0].trajectory == str(tmp_path / "traj.json")
        assert cands[1].model_patch == "" and cands[1].model_name_or_path == "other"
        assert list(group_by_instance(cands)) == ["a", "b"]


def test_every_bad_line_is_reported(tmp_path: Path) -> None:
    rows: list[object] = [
        {"instance_id": "a", "model_patch": "x"},
        "{not json",
        {"model_patch": "x"},
        {"instance_id": "a", "patch": "p", "test_patch": "t", "FAIL_TO_PASS": []},
        {"instance_id": "a", "model_patch": 3},
        {"instance_id": "a", "model_patch": "x", "tests": [{"path": "t.py"}]},
        {"instance_id": "a", "model_patch": "x", "candidate_id": "c0"},
    ]
    path = _write(tmp_path / "bad.jsonl", rows)
    with pytest.raises(CandidateFormatError) as err:
        load_candidates(path)
    msg = str(err.value)
    assert "6 bad line(s)" in msg
    for line, text in [
        (2, "invalid JSON"),
        (3, "instance_id"),
        (4, "pass it as --instances"),
        (5, "must be a string or null"),
        (6, "tests.0.content"),
        (7, "duplicate candidate_id"),
    ]:
        assert f"bad.jsonl:{line}: " in msg and text in msg


def test_missing_file_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(CandidateFormatError, match="no such file"):
        load_candidates(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(CandidateFormatError, match="no candidates"):
        load_candidates(tmp_path / "empty.jsonl")


def test_load_tasks_reads_no_gold(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "i.jsonl",
        [
            {
                "instance_id": "a",
                "problem_statement": "bug",
                "repo": "o/r",
                "base_commit": "abc",
                "patch": "GOLD",
                "test_patch": "GOLD",
            }
        ],
    )
    task = load_tasks(path)["a"]
    assert task.problem_statement == "bug" and "GOLD" not in task.model_dump_json()

"""scripts/fidelity_swebench.py keeps per-instance results across runs (--records): a grade made on one machine
stays in the tables after its work directory is gone, and a new grade of the same instance replaces it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import fidelity_swebench as fid  # noqa: E402

from patchjury.envs.swebench.instances import SWEInstance  # noqa: E402

IID = "scikit-learn__scikit-learn-14983"
OTHER = "sympy__sympy-20590"


def inst(iid: str, repo: str, version: str) -> SWEInstance:
    return SWEInstance(
        instance_id=iid,
        repo=repo,
        base_commit="0" * 40,
        version=version,
        problem_statement="p",
        patch="",
        test_patch="",
    )


def official(resolved: bool, p2p_ok: list[str], p2p_bad: list[str]) -> dict[str, Any]:
    return {
        "resolved": resolved,
        "tests_status": {
            "FAIL_TO_PASS": {"success": ["t::f2p"], "failure": []},
            "PASS_TO_PASS": {"success": p2p_ok, "failure": p2p_bad},
        },
    }


def write_ours(out: Path, iid: str, report: dict[str, Any]) -> None:
    d = fid.grade_dir(out, iid)
    d.mkdir(parents=True)
    (d / "report.json").write_text(json.dumps({iid: report}))


def test_records_outlive_the_work_directory_and_new_grades_replace_old(tmp_path: Path) -> None:
    insts = {IID: inst(IID, "scikit-learn/scikit-learn", "0.22"), OTHER: inst(OTHER, "sympy/sympy", "1.7")}
    runs = {
        IID: {
            "model_patch": "diff",
            "resolved": True,
            "report": official(True, ["t::a[None-train_size3]"], []),
        },
        OTHER: {"model_patch": "diff", "resolved": False, "report": official(False, [], [])},
    }
    keep = tmp_path / "kept.jsonl.gz"

    def run_then_render(out: Path) -> str:
        """What `--render-only --records KEEP` does with OUT: update the kept records, render from them."""
        args = argparse.Namespace(out=out, repo_cache=None, gold_dir=None)
        fid.save_records(keep, fid.collect_records(args, runs, insts, fid.load_records(keep)))
        return fid.render(fid.load_records(keep))

    # run 1 (pytest 7 names the parameter differently): graded, disagrees
    out1 = tmp_path / "run1"
    write_ours(out1, IID, official(False, [], []) | {"resolved": False})
    first = run_then_render(out1)
    assert "| scikit-learn/scikit-learn | 1 | 1 | 0 | 0/1 (0.0%) |" in first
    assert "t::a[None-train_size3] (PASS_TO_PASS: official success, ours missing)" in first
    # no repo cache in this run: whether the base commit is present is unknown, not "absent"
    assert "| scikit-learn/scikit-learn | 0.22 | 1 | yes | 0 (+1 unknown) | 1 | 1 | 0 |" in first

    # run 2 on another machine: its work directory has only the other instance; the first grade stays
    out2 = tmp_path / "run2"
    write_ours(out2, OTHER, official(False, [], []))
    second = run_then_render(out2)
    assert "| scikit-learn/scikit-learn | 1 | 1 | 0 | 0/1 (0.0%) |" in second
    assert "| sympy/sympy | 1 | 0 | 0 | 1/1 (100.0%) |" in second
    assert "| **all** | 2 | 1 | 0 | 1/2 (50.0%) |" in second

    # run 3 regrades the first instance with the fixed recipe: the new grade replaces the old one
    out3 = tmp_path / "run3"
    write_ours(out3, IID, official(True, ["t::a[None-train_size3]"], []))
    third = run_then_render(out3)
    assert "| **all** | 2 | 1 | 1 | 2/2 (100.0%) |" in third
    assert "train_size3] (PASS_TO_PASS" not in third
    saved = fid.load_records(keep)
    assert set(saved) == {IID, OTHER} and saved[IID]["grading"]["tests_agree"] == 2


def test_records_file_bytes_are_stable(tmp_path: Path) -> None:
    """The kept file is committed: the same records must give the same bytes (no timestamp in the gzip)."""
    recs = {IID: {"instance_id": IID, "repo": "r", "version": "1", "in_run": False}}
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    fid.save_records(a, recs)
    fid.save_records(b, recs)
    assert a.read_bytes() == b.read_bytes()
    assert fid.load_records(a) == recs
    assert fid.load_records(tmp_path / "absent.jsonl.gz") == {}


@pytest.mark.parametrize("bad", ["not json\n", '{"no_id": 1}\n'])
def test_a_damaged_records_file_is_a_clear_error(tmp_path: Path, bad: str) -> None:
    import gzip

    path = tmp_path / "kept.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(bad)
    with pytest.raises(SystemExit, match=r"kept\.jsonl\.gz.*git checkout"):
        fid.load_records(path)


def test_python_and_pytest_of_both_sides_are_read_from_the_logs(tmp_path: Path) -> None:
    """The official container's pytest comes from the run's own command outputs, ours from our grading log; a
    different pytest is flagged (it renames parametrized tests)."""
    assert fid.versions_in("x\nplatform linux -- Python 3.6.13, pytest-6.2.4, py-1.11.0\n") == [
        "Python 3.6.13, pytest 6.2.4"
    ]
    assert fid.versions_in("no header") == []
    insts = {IID: inst(IID, "scikit-learn/scikit-learn", "0.22")}
    step = {
        "command": "pytest x.py",
        "returncode": 0,
        "observation": "platform linux -- Python 3.6.13, pytest-6.2.4",
    }
    runs = {IID: {"model_patch": "d", "resolved": True, "report": official(True, [], []), "steps": [step]}}
    out = tmp_path / "run"
    write_ours(out, IID, official(True, [], []))
    log = fid.grade_dir(out, IID) / "test_output.txt"
    log.write_text("platform linux -- Python 3.9.2, pytest-7.0.1, pluggy-1.0.0\n")
    text = fid.render(
        fid.collect_records(argparse.Namespace(out=out, repo_cache=None, gold_dir=None), runs, insts, {})
    )
    row = "| scikit-learn/scikit-learn | 0.22 | Python 3.6.13, pytest 6.2.4 | Python 3.9.2, pytest 7.0.1 | **no** |"
    assert row in text
    log.write_text("platform linux -- Python 3.9.2, pytest-6.2.4, pluggy-1.0.0\n")
    text = fid.render(
        fid.collect_records(argparse.Namespace(out=out, repo_cache=None, gold_dir=None), runs, insts, {})
    )
    assert "| Python 3.6.13, pytest 6.2.4 | Python 3.9.2, pytest 6.2.4 | yes |" in text


def test_gold_check_is_kept_and_shown(tmp_path: Path) -> None:
    """--gold-dir: a grade of the gold patch here tells whether a disagreement is this machine's; the answer is
    kept in the records, so a later run without the gold outputs still shows it."""
    mpl = "matplotlib__matplotlib-24149"
    insts = {mpl: inst(mpl, "matplotlib/matplotlib", "3.6")}
    runs = {mpl: {"model_patch": "d", "resolved": True, "report": official(True, ["img1", "img2", "p"], [])}}
    out, gold, keep = tmp_path / "run", tmp_path / "gold", tmp_path / "kept.jsonl.gz"
    write_ours(out, mpl, official(False, ["p"], ["img1", "img2"]))
    (gold / mpl).mkdir(parents=True)
    (gold / mpl / "report.json").write_text(
        json.dumps({mpl: official(False, ["p"], ["img1", "img2", "img3"])})
    )
    args = argparse.Namespace(out=out, repo_cache=None, gold_dir=gold)
    fid.save_records(keep, fid.collect_records(args, runs, insts, {}))
    later = argparse.Namespace(out=tmp_path / "empty", repo_cache=None, gold_dir=None)
    text = fid.render(fid.collect_records(later, runs, insts, fid.load_records(keep)))
    assert f"| {mpl} | True | False | 2 | 2/2 | 1 |" in text

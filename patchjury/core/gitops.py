"""Git plumbing for the front doors: put a patch on a new branch without touching the working tree.

`commit_patch_on_branch` builds the commit in a private index file (`git apply --cached` over
`git read-tree`), so the user's checkout, index and current branch stay exactly as they were.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from patchjury.core.errors import PatchjuryError

BRANCH_PREFIX = "patchjury/"
#: What solve writes inside the repository; never counts as a local change.
RUNS_DIRNAME = ".patchjury"


class GitError(PatchjuryError, RuntimeError):
    """A git command failed; the message carries git's own output."""


def git(repo: Path, *args: str, env: dict[str, str] | None = None, input_text: str | None = None) -> str:
    """Run git in `repo` and return stdout; raise GitError with stderr on failure."""
    run = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        input=input_text,
        env={**os.environ, **(env or {})},
    )
    if run.returncode != 0:
        shown = " ".join(a if "extraheader" not in a else "<auth header>" for a in args)
        raise GitError(f"git {shown} failed in {repo}: {(run.stderr or run.stdout).strip()}")
    return run.stdout


def slugify(text: str, max_len: int = 48) -> str:
    """`Fix crash in parse()!` -> `fix-crash-in-parse`; never empty."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > max_len:
        words = words[:max_len].rsplit("-", 1)[0] or words[:max_len]
    return words or "issue"


def repo_root(path: Path) -> Path:
    """The top level of the git repository containing `path` (clear error if none)."""
    if not path.exists():
        raise PatchjuryError(f"repository path {path} does not exist")
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        raise PatchjuryError(
            f"{path} is not a git repository (run `git init && git add -A && git commit -m init` first)"
        ) from exc


def head_commit(repo: Path) -> str:
    try:
        return git(repo, "rev-parse", "--verify", "HEAD^{commit}").strip()
    except GitError as exc:
        raise PatchjuryError(f"{repo} has no commit yet: commit your code first") from exc


def dirty_paths(repo: Path) -> list[str]:
    """Tracked changes and untracked files, ignoring patchjury's own run directory."""
    out = git(repo, "status", "--porcelain", "--untracked-files=normal")
    paths = [line[3:] for line in out.splitlines() if line.strip()]
    return [p for p in paths if not p.strip('"').startswith(RUNS_DIRNAME + "/") and p != RUNS_DIRNAME]


def ensure_runs_dir(repo: Path) -> Path:
    """`<repo>/.patchjury`, git-ignored by its own `.gitignore` (no change to the user's ignore files)."""
    runs = repo / RUNS_DIRNAME
    runs.mkdir(exist_ok=True)
    ignore = runs / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by patchjury: keep run outputs out of git\n*\n")
    return runs


def branch_exists(repo: Path, branch: str) -> bool:
    run = subprocess.run(
        ["git", "-C", str(repo), "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"],
        capture_output=True,
    )
    return run.returncode == 0


def free_branch_name(repo: Path, slug: str, taken: set[str] | None = None) -> str:
    """`patchjury/<slug>`, or `patchjury/<slug>-2`, -3... when that branch already exists."""
    taken = taken or set()
    name = BRANCH_PREFIX + slug
    n = 2
    while branch_exists(repo, name) or name in taken:
        name = f"{BRANCH_PREFIX}{slug}-{n}"
        n += 1
    return name


@dataclass(frozen=True)
class BranchCommit:
    branch: str
    commit: str
    base: str


def commit_patch_on_branch(
    repo: Path,
    patch: str,
    branch: str,
    message: str,
    base: str = "HEAD",
    author: tuple[str, str] | None = None,
) -> BranchCommit:
    """Create `branch` at a new commit = `base` + `patch`; working tree, index and HEAD untouched."""
    if not branch.startswith(BRANCH_PREFIX):
        raise PatchjuryError(f"refusing to write branch {branch!r}: patchjury only creates {BRANCH_PREFIX}*")
    if branch_exists(repo, branch):
        raise PatchjuryError(f"branch {branch} already exists: delete it or pick another slug")
    if not patch.strip():
        raise PatchjuryError("the chosen patch is empty: nothing to commit")
    base_sha = git(repo, "rev-parse", "--verify", f"{base}^{{commit}}").strip()
    name, email = author or ("patchjury", "patchjury@users.noreply.github.com")
    ident = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    with tempfile.TemporaryDirectory(prefix="patchjury-index-") as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        patch_file = Path(tmp) / "chosen.patch"
        patch_file.write_text(patch if patch.endswith("\n") else patch + "\n")
        git(repo, "read-tree", base_sha, env=index)
        try:
            git(repo, "apply", "--cached", "--whitespace=nowarn", str(patch_file), env=index)
        except GitError as exc:
            raise PatchjuryError(f"the chosen patch does not apply to {base_sha[:12]}: {exc}") from exc
        tree = git(repo, "write-tree", env=index).strip()
    commit = git(repo, "commit-tree", tree, "-p", base_sha, "-F", "-", env=ident, input_text=message).strip()
    git(repo, "update-ref", f"refs/heads/{branch}", commit, "0" * 40)
    return BranchCommit(branch=branch, commit=commit, base=base_sha)


def push_branch(repo: Path, remote: str, branch: str, token: str | None, default_branch: str) -> None:
    """Push `branch` (never the default branch) to `remote`, authenticating with a per-command header.

    The token goes in `-c http.extraheader` for this one command: it is never written to .git/config.
    """
    if not branch.startswith(BRANCH_PREFIX) or branch == default_branch:
        raise PatchjuryError(
            f"refusing to push {branch!r}: patchjury only pushes new {BRANCH_PREFIX}* branches"
        )
    args: list[str] = []
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        args = ["-c", f"http.extraheader=AUTHORIZATION: basic {basic}"]
    git(repo, *args, "push", remote, f"refs/heads/{branch}:refs/heads/{branch}")


def strip_persisted_credentials(repo: Path) -> list[str]:
    """Remove `http.*.extraheader` entries (actions/checkout's persisted token) from the repo's config.

    Sandboxes see the repository, so a token left in .git/config would be readable by the agent.
    Returns the keys removed.
    """
    run = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "config",
            "--local",
            "--name-only",
            "--get-regexp",
            r"^http\..*extraheader$",
        ],
        capture_output=True,
        text=True,
    )
    keys = sorted(set(run.stdout.split()))
    for key in keys:
        git(repo, "config", "--local", "--unset-all", key)
    return keys

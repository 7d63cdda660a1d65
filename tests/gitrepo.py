"""Real temporary git repositories for tests: one git identity and the two helpers every test package uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_ID = ["-c", "user.name=patchjury-test", "-c", "user.email=test@patchjury.invalid"]


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with the test identity; stripped stdout (raises on failure)."""
    run = subprocess.run(["git", *GIT_ID, *args], cwd=repo, capture_output=True, text=True, check=True)
    return run.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Stage everything and commit; returns the new HEAD sha."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(path: Path, files: dict[str, str], branch: str | None = None) -> Path:
    """A new git repository at `path` with one commit ("base") holding `files` ({relative path: content})."""
    path.mkdir(parents=True)
    git(path, "init", "-q", *(["-b", branch] if branch else []))
    for rel, content in files.items():
        p = path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    commit_all(path, "base")
    return path

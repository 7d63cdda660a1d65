"""Where SWE-bench repositories come from: a local repo cache, else `git clone` when online.

The cache is a directory (`--repo-cache DIR` or the PATCHJURY_REPO_CACHE variable) holding clones or bare
mirrors named `owner__name` (e.g. `psf__requests`); an entry may be a symlink to one. `owner__name.git` and
the mirror layout `owner+name/repo` (bare mirrors brought by the fetch tool) are found too, so the cache can
point straight at such a mirror directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

from patchjury.envs.swebench.errors import RepoCacheError

CACHE_ENV = "PATCHJURY_REPO_CACHE"
CLONE_URL = "https://github.com/{repo}.git"
DEFAULT_CLONE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "patchjury" / "repos"

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _git(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout
    )


def is_git_repo(path: Path) -> bool:
    """True for a work tree or a bare repository."""
    if not path.is_dir():
        return False
    try:
        return _git("-C", str(path), "rev-parse", "--git-dir", timeout=60).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def cache_dir_from(cache_dir: str | Path | None) -> Path | None:
    """The explicit cache dir, else $PATCHJURY_REPO_CACHE, else None."""
    value = cache_dir or os.environ.get(CACHE_ENV) or None
    return Path(value).expanduser() if value else None


def cache_candidates(cache: Path, repo: str) -> list[Path]:
    """Paths tried, in order, for `repo` inside `cache`."""
    key = repo.replace("/", "__")
    plus = repo.replace("/", "+")
    return [cache / key, cache / f"{key}.git", cache / plus / "repo", cache / plus, cache / repo]


def find_in_cache(repo: str, cache: Path) -> Path | None:
    """The cached repository for `repo` (symlinks resolved), or None."""
    for cand in cache_candidates(cache, repo):
        if is_git_repo(cand):
            return cand.resolve()
    return None


def has_commit(path: Path, commit: str) -> bool:
    """True when `commit` exists in the repository at `path`."""
    return _git("-C", str(path), "cat-file", "-e", f"{commit}^{{commit}}", timeout=60).returncode == 0


def clone_repo(repo: str, dest_root: Path, timeout: float = 3600) -> Path:
    """`git clone --bare` the GitHub repository into `dest_root/owner__name` (reused when present)."""
    dest = dest_root / repo.replace("/", "__")
    with _lock(str(dest)):
        if is_git_repo(dest):
            return dest
        dest_root.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)  # a partial clone left by an interrupted run
        try:
            run = _git("clone", "--bare", "--quiet", CLONE_URL.format(repo=repo), str(tmp), timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise RepoCacheError(f"git clone of {repo} timed out after {timeout:.0f}s") from exc
        if run.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RepoCacheError(f"git clone of {repo} failed: {run.stderr.strip().splitlines()[-1:]}")
        tmp.rename(dest)
    return dest


def resolve_repo(
    repo: str,
    commit: str | None = None,
    cache_dir: str | Path | None = None,
    allow_clone: bool = True,
    clone_dir: Path | None = None,
) -> Path:
    """A local git repository (work tree or bare) for `owner/name` that contains `commit`.

    Looks in the repo cache first, then clones (into the cache dir when given, else ~/.cache/patchjury/repos).
    Raises RepoCacheError saying where it looked and how to fix it.
    """
    cache = cache_dir_from(cache_dir)
    looked: list[str] = []
    if cache is not None:
        if not cache.is_dir():
            raise RepoCacheError(f"repo cache {cache} is not a directory; pass an existing --repo-cache DIR")
        found = find_in_cache(repo, cache)
        looked.append(str(cache / repo.replace("/", "__")))
        if found is not None:
            if commit and not has_commit(found, commit):
                raise RepoCacheError(
                    f"{found} (cached {repo}) lacks commit {commit[:12]}; update it "
                    f"(`git -C {found} fetch --all`) or replace it with a fresh mirror"
                )
            return found
    root = clone_dir or DEFAULT_CLONE_DIR
    if cache is None:
        existing = root / repo.replace("/", "__")
        if is_git_repo(existing) and (not commit or has_commit(existing, commit)):
            return existing
    if not allow_clone:
        raise RepoCacheError(
            f"{repo} not found in the repo cache (looked for {', '.join(looked) or 'no cache given'}) and "
            f"cloning is off; put a clone or bare mirror at <cache>/{repo.replace('/', '__')} and pass "
            f"--repo-cache <cache> (or set {CACHE_ENV})"
        )
    try:
        path = clone_repo(repo, root)
    except RepoCacheError as exc:
        raise RepoCacheError(
            f"{repo} not in the repo cache ({', '.join(looked) or f'none given; set {CACHE_ENV}'}) and {exc}; "
            f"put a clone or bare mirror at <cache>/{repo.replace('/', '__')} and pass --repo-cache <cache>"
        ) from exc
    if commit and not has_commit(path, commit):
        raise RepoCacheError(f"clone of {repo} at {path} lacks commit {commit[:12]}")
    return path

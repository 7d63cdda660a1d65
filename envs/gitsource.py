"""Host-side git helpers: resolve a commit and pack a checkout (with a shallow .git) as a tarball.

The tarball carries the work tree at the commit plus a one-commit `.git`, so `git diff`/`git reset` work in a
container without the repo's full history. Every entry belongs to the container user that works on it (root,
or the image's sandbox user). Tarballs are cached per (repo, commit, owner) for the life of the process, in a
temporary directory removed at exit or on SIGTERM (or by a later process, after a crash).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from patchjury.envs import cleanup
from patchjury.envs.errors import EnvCommandError, EnvConfigError

_CACHE: dict[tuple[str, str, int], Path] = {}
_LOCK = threading.Lock()
_TMP: Path | None = None


def _git(args: list[str], cwd: Path, what: str) -> str:
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        raise EnvCommandError(f"could not {what}: git {' '.join(args)}: {run.stderr.strip()[-1500:]}")
    return run.stdout


def resolve_commit(repo: Path | str, rev: str = "HEAD") -> str:
    """Full sha of `rev` in the host repo `repo` (a checkout or a bare mirror)."""
    path = Path(repo).expanduser().resolve()
    if not path.is_dir():
        raise EnvConfigError(f"source repo {path} does not exist; pass the path of a git checkout or mirror")
    check = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=path, capture_output=True)
    if check.returncode != 0:
        raise EnvConfigError(f"{path} is not a git repository; pass the root of a git checkout or mirror")
    run = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=path,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        raise EnvConfigError(f"commit {rev!r} not found in {path}; fetch it first (git fetch) or fix the id")
    return run.stdout.strip()


def _tmp_root() -> Path:
    global _TMP
    if _TMP is None or not _TMP.is_dir():
        path = _TMP = cleanup.owned_tempdir("pj-checkouts-")
        cleanup.register(f"checkout tarballs {path}", lambda: cleanup.remove_tempdir(path))
    return _TMP


def _owned_by(uid: int) -> Callable[[tarfile.TarInfo], tarfile.TarInfo]:
    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = uid
        info.uname = info.gname = ""  # numeric owners: the container's names may differ from the host's
        return info

    return owned


def checkout_tarball(repo: Path | str, commit: str, uid: int = 0) -> Path:
    """A tar of the repo at `commit` (work tree + shallow .git, detached HEAD), every entry owned by `uid`
    (= gid; the container user that works on it), cached per process."""
    src = Path(repo).expanduser().resolve()
    sha = resolve_commit(src, commit)
    key = (str(src), sha, uid)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached.exists():
            return cached
        work = Path(tempfile.mkdtemp(prefix="co-", dir=_tmp_root()))
        tree = work / "tree"
        tree.mkdir()
        _git(["init", "-q"], tree, "init a checkout")
        _git(["fetch", "-q", "--depth", "1", f"file://{src}", sha], tree, f"fetch {sha[:12]} from {src}")
        _git(["checkout", "-q", "--detach", sha], tree, f"check out {sha[:12]}")
        tar_path = work / "checkout.tar"
        with tarfile.open(tar_path, "w") as tar:
            for child in sorted(tree.iterdir()):
                tar.add(child, arcname=child.name, filter=_owned_by(uid))
        shutil.rmtree(tree)
        _CACHE[key] = tar_path
        return tar_path

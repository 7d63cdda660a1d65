"""Driver side of "the repository reaches a node as a git bundle": one shallow bundle per (repository, commit).

A bundle holds the commit at depth 1 (its tree and the same commit id, no history), made from a throwaway shallow
fetch of the driver's clone or mirror, and is put in Ray's object store once per run. Nodes unpack it into their
own mirror (cluster.node.ensure_repo) only when they lack the commit, so the bytes cross the network at most once
per node and repository commit.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from patchjury.core.cluster.node import RepoBundle
from patchjury.envs.errors import ImageBuildError


def _git(*args: str, cwd: Path) -> str:
    run = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace", timeout=1800
    )
    if run.returncode != 0:
        raise ImageBuildError(f"git {' '.join(args[:2])} failed in {cwd}: {run.stderr.strip()[-400:]}")
    return run.stdout.strip()


def bundle_bytes(repo: Path, commit: str) -> tuple[str, bytes]:
    """(full sha, bytes of a git bundle holding `commit` of `repo` at depth 1)."""
    sha = _git("rev-parse", "--verify", f"{commit}^{{commit}}", cwd=repo)
    with tempfile.TemporaryDirectory(prefix="pj-bundle-") as tmp:
        work = Path(tmp) / "repo"
        work.mkdir()
        _git("init", "-q", "--bare", cwd=work)
        _git("fetch", "-q", "--depth", "1", f"file://{repo.resolve()}", f"{sha}:refs/heads/pj", cwd=work)
        out = Path(tmp) / "repo.bundle"
        _git("bundle", "create", "-q", str(out), "refs/heads/pj", cwd=work)
        return sha, out.read_bytes()


class Bundles:
    """The run's bundles, made and put in the object store on first use (thread-safe)."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], RepoBundle] = {}
        self._lock = threading.Lock()

    def get(self, repo: Path, commit: str, name: str) -> RepoBundle:
        import ray

        key = (str(Path(repo).resolve()), commit)
        with self._lock:
            if key in self._made:
                return self._made[key]
        sha, data = bundle_bytes(Path(repo), commit)
        bundle = RepoBundle(name=name, commit=sha, ref=[ray.put(data)], size=len(data))
        with self._lock:
            return self._made.setdefault(key, bundle)

    @property
    def total_bytes(self) -> int:
        return sum(b.size for b in self._made.values())

"""Host-side git helpers: resolve a commit and pack a checkout (with a shallow .git) as a tarball.

The tarball carries the work tree at the commit plus a one-commit `.git`, so `git diff`/`git reset` work in a
container without the repo's full history. Submodules (e.g. astropy's astropy_helpers) are checked out on
request at the commit their gitlink pins, each from a host repository that holds it, as a nested shallow
repository registered in `.git/config` (what `git submodule update --init` leaves, without the network).
Every entry belongs to the container user that works on it (root, or the image's sandbox user). Tarballs are
cached per (repo, commit, owner, submodules) for the life of the process, in a temporary directory removed at
exit or on SIGTERM (or by a later process, after a crash).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from patchjury.envs import cleanup
from patchjury.envs.errors import EnvCommandError, EnvConfigError

_CACHE: dict[tuple[str, str, int, tuple[tuple[str, str], ...]], Path] = {}
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


@dataclass(frozen=True)
class Submodule:
    """A submodule recorded in a commit: its `.gitmodules` entry and the commit its gitlink pins."""

    name: str
    """Its name in `.gitmodules`."""
    path: str
    """Where it sits in the work tree."""
    url: str
    """Its `url` in `.gitmodules` (may be empty)."""
    sha: str
    """The commit the superproject's tree pins at `path`."""


def submodules_at(repo: Path | str, commit: str) -> list[Submodule]:
    """The submodules of `repo` at `commit` whose path holds a gitlink (none without a `.gitmodules`)."""
    path = Path(repo).expanduser().resolve()
    sha = resolve_commit(path, commit)
    if subprocess.run(
        ["git", "cat-file", "-e", f"{sha}:.gitmodules"], cwd=path, capture_output=True
    ).returncode:
        return []
    entries: dict[str, dict[str, str]] = {}
    listing = _git(
        ["config", "--blob", f"{sha}:.gitmodules", "--get-regexp", r"^submodule\..*\.(path|url)$"],
        path,
        f"read .gitmodules at {sha[:12]}",
    )
    for line in listing.splitlines():
        key, _, value = line.partition(" ")
        name, _, field = key[len("submodule.") :].rpartition(".")
        entries.setdefault(name, {})[field] = value.strip()
    out = []
    for name, fields in entries.items():
        if "path" not in fields:
            continue
        row = _git(
            ["ls-tree", sha, "--", fields["path"]], path, f"list {fields['path']} at {sha[:12]}"
        ).split()
        if len(row) >= 3 and row[0] == "160000":
            out.append(Submodule(name, fields["path"], fields.get("url", ""), row[2]))
    return out


def _check_out_submodules(tree: Path, src: Path, sha: str, submodules: Mapping[str, Path | str]) -> None:
    pinned = {s.path: s for s in submodules_at(src, sha)}
    for rel, host in sorted(submodules.items()):
        sub = pinned.get(rel)
        if sub is None:
            raise EnvConfigError(
                f"{rel!r} is not a submodule of {src} at {sha[:12]} (its submodules: {sorted(pinned) or 'none'})"
            )
        host_path = Path(host).expanduser().resolve()
        where = tree / rel
        where.mkdir(parents=True, exist_ok=True)
        _git(["init", "-q"], where, f"init submodule {rel}")
        _git(
            ["fetch", "-q", "--depth", "1", f"file://{host_path}", sub.sha],
            where,
            f"fetch submodule {rel} at {sub.sha[:12]} from {host_path} (does it hold that commit?)",
        )
        _git(["checkout", "-q", "--detach", sub.sha], where, f"check out submodule {rel} at {sub.sha[:12]}")
        _git(["submodule", "--quiet", "init", "--", rel], tree, f"register submodule {rel}")


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


def checkout_tarball(
    repo: Path | str, commit: str, uid: int = 0, submodules: Mapping[str, Path | str] | None = None
) -> Path:
    """A tar of the repo at `commit` (work tree + shallow .git, detached HEAD), every entry owned by `uid`
    (= gid; the container user that works on it), cached per process. `submodules` maps a submodule's path
    to a host repository holding the commit it pins; those are checked out too (others stay empty dirs)."""
    src = Path(repo).expanduser().resolve()
    sha = resolve_commit(src, commit)
    subs = tuple(
        sorted((rel, str(Path(host).expanduser().resolve())) for rel, host in (submodules or {}).items())
    )
    key = (str(src), sha, uid, subs)
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
        if subs:
            _check_out_submodules(tree, src, sha, dict(subs))
        tar_path = work / "checkout.tar"
        with tarfile.open(tar_path, "w") as tar:
            for child in sorted(tree.iterdir()):
                tar.add(child, arcname=child.name, filter=_owned_by(uid))
        shutil.rmtree(tree)
        _CACHE[key] = tar_path
        return tar_path

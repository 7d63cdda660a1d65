"""The repository reaches a node as a shallow git bundle: the same commit id, its tree, no history."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from gitrepo import commit_all, git, init_repo

from patchjury.core.cluster.bundles import bundle_bytes
from patchjury.core.cluster.node import RepoBundle, ensure_repo


def test_bundle_unpacks_on_a_node_with_the_same_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = init_repo(tmp_path / "src", {"a.py": "x = 1\n"})
    first = git(repo, "rev-parse", "HEAD")
    (repo / "a.py").write_text("x = 2\n")
    (repo / "b.py").write_text("y = 3\n")
    second = commit_all(repo, "second")
    monkeypatch.setenv("PATCHJURY_NODE_CACHE", str(tmp_path / "node"))

    sha, data = bundle_bytes(repo, "HEAD~1")
    assert sha == first
    mirror = ensure_repo(RepoBundle("o__src", sha, [data], len(data)))
    assert git(mirror, "cat-file", "-t", first) == "commit"
    assert git(mirror, "show", f"{first}:a.py") == "x = 1"
    assert subprocess.run(["git", "cat-file", "-e", second], cwd=mirror).returncode != 0  # only what was sent

    # a second commit of the same repository joins the node's mirror; the first stays
    sha2, data2 = bundle_bytes(repo, "HEAD")
    assert ensure_repo(RepoBundle("o__src", sha2, [data2], len(data2))) == mirror
    assert (
        git(mirror, "show", f"{second}:b.py") == "y = 3" and git(mirror, "cat-file", "-t", first) == "commit"
    )
    # nothing is fetched again for a commit the node has (the bytes are never looked at)
    assert ensure_repo(RepoBundle("o__src", sha, [object()], 0)) == mirror

    # containers copy the repository in from the node's mirror (envs.gitsource), at the same commit id
    from patchjury.envs.gitsource import checkout_tarball

    with tarfile.open(checkout_tarball(mirror, first)) as tar:
        names = tar.getnames()
        assert "a.py" in names and "b.py" not in names


def test_a_bad_commit_is_a_clear_error(tmp_path: Path) -> None:
    from patchjury.envs.errors import ImageBuildError

    repo = init_repo(tmp_path / "src", {"a.py": "x = 1\n"})
    with pytest.raises(ImageBuildError, match="rev-parse"):
        bundle_bytes(repo, "0" * 40)

"""Checkout tarballs with git submodules at their pinned commits (astropy's astropy_helpers), on real repos."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from patchjury.envs.errors import EnvCommandError, EnvConfigError
from patchjury.envs.gitsource import Submodule, checkout_tarball, submodules_at
from patchjury.envs.swebench.build import submodule_sources
from patchjury.envs.swebench.errors import RepoCacheError
from patchjury.envs.swebench.instances import SWEInstance
from tests.gitrepo import commit_all, git, init_repo


def _sha(repo: Path, rev: str = "HEAD") -> str:
    return subprocess.run(["git", "rev-parse", rev], cwd=repo, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def superproject(tmp_path: Path) -> tuple[Path, Path, str]:
    """(superproject, helpers repo, pinned commit): the superproject pins helpers' first commit at
    `helpers/`, as astropy pins astropy-helpers; helpers has moved on since (a second commit)."""
    helpers = init_repo(tmp_path / "acme__helpers", {"helpers/__init__.py": "VERSION = 1\n"})
    pinned = _sha(helpers)
    (helpers / "helpers" / "__init__.py").write_text("VERSION = 2\n")
    commit_all(helpers, "later")
    sup = init_repo(tmp_path / "acme__app", {"setup.py": "import helpers\n"})
    (sup / ".gitmodules").write_text(
        '[submodule "helpers"]\n\tpath = helpers\n\turl = https://github.com/acme/helpers.git\n'
    )
    git(sup, "add", ".gitmodules")
    git(sup, "update-index", "--add", "--cacheinfo", f"160000,{pinned},helpers")
    git(sup, "commit", "-q", "-m", "pin helpers")
    (sup / "helpers").mkdir()  # as a clone without --recursive leaves it
    return sup, helpers, pinned


def _extract(tar_path: Path, dest: Path) -> Path:
    with tarfile.open(tar_path) as tar:
        tar.extractall(dest, filter="tar")
    return dest


def test_submodules_at_reads_gitmodules_and_gitlinks(superproject: tuple[Path, Path, str]) -> None:
    sup, helpers, pinned = superproject
    assert submodules_at(sup, "HEAD") == [
        Submodule("helpers", "helpers", "https://github.com/acme/helpers.git", pinned)
    ]
    assert submodules_at(sup, "HEAD~1") == []  # no .gitmodules yet
    assert submodules_at(helpers, "HEAD") == []


def test_checkout_has_the_pinned_submodule_and_a_clean_status(
    superproject: tuple[Path, Path, str], tmp_path: Path
) -> None:
    sup, helpers, pinned = superproject
    plain = _extract(checkout_tarball(sup, "HEAD"), tmp_path / "plain")
    assert (plain / "helpers").is_dir() and not any(
        (plain / "helpers").iterdir()
    )  # as a plain clone leaves it

    tree = _extract(checkout_tarball(sup, "HEAD", submodules={"helpers": helpers}), tmp_path / "with")
    assert (tree / "helpers" / "helpers" / "__init__.py").read_text() == "VERSION = 1\n"  # pinned, not latest
    assert _sha(tree / "helpers") == pinned
    status = subprocess.run(["git", "status", "--porcelain"], cwd=tree, capture_output=True, text=True)
    assert status.returncode == 0 and status.stdout == ""
    sub_status = subprocess.run(["git", "submodule", "status"], cwd=tree, capture_output=True, text=True)
    assert sub_status.stdout.startswith(f" {pinned} helpers")  # initialized and at the pinned commit
    # a change inside the submodule does not leak into the superproject's diff (what grading reads)
    (tree / "helpers" / "scratch.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "-A"], cwd=tree, check=True)
    diff = subprocess.run(["git", "diff", "--cached"], cwd=tree, capture_output=True, text=True).stdout
    assert diff == ""


def test_bad_submodule_requests_are_clear_errors(
    superproject: tuple[Path, Path, str], tmp_path: Path
) -> None:
    sup, helpers, _ = superproject
    with pytest.raises(EnvConfigError, match=r"'vendor' is not a submodule .*\['helpers'\]"):
        checkout_tarball(sup, "HEAD", submodules={"vendor": helpers})
    stranger = init_repo(tmp_path / "stranger", {"a.txt": "a\n"})
    with pytest.raises(EnvCommandError, match="does it hold that commit"):
        checkout_tarball(sup, "HEAD", submodules={"helpers": stranger})


def test_submodule_sources_come_from_the_repo_cache(
    superproject: tuple[Path, Path, str], tmp_path: Path
) -> None:
    sup, helpers, pinned = superproject
    inst = SWEInstance(instance_id="acme__app-1", repo="acme/app", base_commit=_sha(sup))
    cache = helpers.parent  # holds acme__helpers, named as the repo cache names repositories
    assert submodule_sources(inst, sup, cache, allow_clone=False) == {"helpers": helpers.resolve()}

    empty = tmp_path / "empty-cache"
    empty.mkdir()
    with pytest.raises(
        RepoCacheError, match=r"acme__app-1: submodule helpers \(acme/helpers @ " + pinned[:12]
    ):
        submodule_sources(inst, sup, empty, allow_clone=False)

    (sup / ".gitmodules").write_text('[submodule "helpers"]\n\tpath = helpers\n\turl = ../helpers.git\n')
    git(sup, "commit", "-q", "-am", "relative url")
    moved = SWEInstance(instance_id="acme__app-2", repo="acme/app", base_commit=_sha(sup))
    with pytest.raises(RepoCacheError, match=r"comes from '\.\./helpers\.git', not a GitHub URL"):
        submodule_sources(moved, sup, cache, allow_clone=False)


@pytest.mark.docker
def test_env_image_is_built_with_the_submodule(
    base_image: str, superproject: tuple[Path, Path, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Setup already sees the pinned submodule (as astropy's setup.py needs astropy_helpers), the image's
    work tree is clean, and the image key tells the build apart from one without submodules."""
    from patchjury.envs.images import build_env_image, env_image_tag

    monkeypatch.setenv("PATCHJURY_CACHE", str(tmp_path / "cache"))
    sup, helpers, pinned = superproject
    setup = ["grep -q 'VERSION = 1' helpers/helpers/__init__.py"]
    tag = build_env_image(base_image, sup, "HEAD", setup, ca_bundle=None, submodules={"helpers": helpers})
    try:
        assert tag != env_image_tag(base_image, sup, "HEAD", setup)
        assert tag == env_image_tag(base_image, sup, "HEAD", setup, submodules={"helpers": helpers})
        run = subprocess.run(
            [
                "docker",
                "run",
                "--rm",
                "--entrypoint",
                "bash",
                tag,
                "-c",
                "git submodule status && git status --porcelain",
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith(f" {pinned} helpers")
        assert run.stdout.count("\n") == 1  # no change in the superproject's status
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)

"""Shared test fixtures. Docker-marked tests skip without an engine locally, but FAIL when CI=true."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import init_repo

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def _docker_ok() -> tuple[bool, str]:
    try:
        run = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return run.returncode == 0, (run.stderr or run.stdout).strip()


def _ray_ok() -> tuple[bool, str]:
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        return False, 'Ray is not installed (pip install -e ".[dev,ray]")'
    return True, ""


def _require(items: list[pytest.Item], marker: str, ok: bool, why: str) -> None:
    """Marked tests skip when their requirement is missing, or fail when CI=true."""
    marked = [item for item in items if item.get_closest_marker(marker)]
    if ok or not marked:
        return
    for item in marked:
        if os.environ.get("CI", "").lower() == "true":
            item.add_marker(pytest.mark.usefixtures(f"_{marker}_required"))
        else:
            item.add_marker(pytest.mark.skip(reason=f"{why}; set CI=true to make this a failure"))


@pytest.fixture
def _ray_required() -> None:
    ok, why = _ray_ok()
    if not ok:
        pytest.fail(f"CI=true but {why}", pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(item.get_closest_marker("ray") for item in items):
        _require(items, "ray", *_ray_ok())
    if not any(item.get_closest_marker("docker") for item in items):
        return
    ok, why = _docker_ok()
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        for item in items:
            if item.get_closest_marker("docker"):
                item.add_marker(pytest.mark.usefixtures("_docker_required"))
        return
    skip = pytest.mark.skip(reason=f"Docker engine not reachable ({why}); set CI=true to make this a failure")
    for item in items:
        if item.get_closest_marker("docker"):
            item.add_marker(skip)


@pytest.fixture
def _docker_required() -> None:
    ok, why = _docker_ok()
    if not ok:
        pytest.fail(f"CI=true but the Docker engine is not reachable: {why}", pytrace=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data next to the repo; tests needing it skip (or fail on CI) when absent."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {SHARED_DATA} is missing", pytrace=False)
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def base_image() -> str:
    """Tag of the bookworm base image, bootstrapped (or reused) once per session."""
    ok, why = _docker_ok()
    if not ok:
        pytest.fail(f"Docker engine not reachable: {why}", pytrace=False)
    from patchjury.envs.bootstrap import bootstrap

    return bootstrap("bookworm")


RepoFactory = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoFactory:
    """Create a git repo from {path: content}; returns its path (HEAD = one commit "base" with those files)."""
    count = 0

    def make(files: dict[str, str]) -> Path:
        nonlocal count
        count += 1
        return init_repo(tmp_path / f"repo{count}", files)

    return make

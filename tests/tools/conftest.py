"""Fixtures for the tools tests: real temporary git repositories checked out through LocalEnv."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Tool
from patchjury.tools.registry import get_tools

SAMPLE = {
    ".gitignore": "*.log\n",
    "README.md": "# calc\n",
    "pkg/__init__.py": "",
    "pkg/calc.py": "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n",
    "pkg/shapes.py": (
        "from pkg.calc import add\n\n\nclass Square:\n    def __init__(self, side):\n        self.side = side\n\n"
        "    def perimeter(self):\n        return add(add(self.side, self.side), add(self.side, self.side))\n"
    ),
    "docs/guide.txt": "Use add() to add.\n",
}

RepoFactory = Callable[[dict[str, str]], Path]


@pytest.fixture
def config(tmp_path: Path) -> ToolsConfig:
    """Tool state and the repo-map cache under the test's tmp dir."""
    return ToolsConfig(state_dir=str(tmp_path / "state"), repomap_cache_dir=str(tmp_path / "cache"))


@pytest.fixture
def make_env(make_repo: RepoFactory) -> Iterator[Callable[..., LocalEnv]]:
    made: list[LocalEnv] = []

    def make(files: dict[str, str] | None = None) -> LocalEnv:
        env = LocalEnv(LocalEnvConfig(repo=make_repo(SAMPLE if files is None else files), use_worktree=False))
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


@pytest.fixture
def env(make_env: Callable[..., LocalEnv]) -> LocalEnv:
    """A LocalEnv over a fresh copy of SAMPLE."""
    return make_env()


@pytest.fixture
def tools(config: ToolsConfig) -> dict[str, Tool]:
    return {t.name: t for t in get_tools(config=config)}


@pytest.fixture
def sample_files() -> dict[str, str]:
    """The sample project's files (add() subtracts: the bug the repro tests look for)."""
    return dict(SAMPLE)

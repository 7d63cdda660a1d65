"""Fixtures for the envs tests: real temporary git repositories."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

RepoFactory = Callable[[dict[str, str]], Path]


SAMPLE_FILES = {
    ".gitignore": "*.log\nbuild/\n",
    "README.md": "# sample\n",
    "pkg/__init__.py": "",
    "pkg/calc.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    "tests/test_calc.py": "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
}


@pytest.fixture
def sample_repo(make_repo: RepoFactory) -> Path:
    """A small Python project in a git repo (one commit)."""
    return make_repo(SAMPLE_FILES)

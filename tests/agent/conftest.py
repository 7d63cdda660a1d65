"""Fixtures of the agent tests (their helpers live in agent_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_fixtures import make_repo

from patchjury.records import Task


@pytest.fixture
def buggy_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def task() -> Task:
    return Task(instance_id="calc-1", problem_statement="add(2, 2) returns 0 instead of 4", repo="t/calc")

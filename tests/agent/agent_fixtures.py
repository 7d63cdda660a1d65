"""Helpers of the agent tests: a small buggy git repository and scripted policies for it.

A plain module, imported by name (`from agent_fixtures import ...`): `from agent_fixtures import` picked whichever
conftest.py came first on sys.path, so `pytest tests/agent tests/envs` failed to collect."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

BUGGY = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
REPRO = "import sys\nfrom calc import add\nsys.exit(0 if add(2, 2) == 4 else 2)\n"


def make_repo(root: Path) -> Path:
    repo = root / "buggy"
    repo.mkdir()
    (repo / "calc.py").write_text(BUGGY)
    (repo / "README.md").write_text("calc: adds numbers\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "buggy"], cwd=repo, check=True)
    return repo


def fixing_script() -> list[dict[str, Any]]:
    """A policy that explores, writes a reproduction test, fixes calc.py and submits (per-index test name)."""
    return [
        {"content": "Let me look.", "tool": "view", "args": {"path": "calc.py"}},
        {"tool": "write_test", "args": {"path": "repro_test_{{ index }}.py", "content": REPRO}},
        {"tool": "run_test", "args": {"path": "repro_test_{{ index }}.py", "on_original": True}},
        {
            "tool": "edit",
            "args": {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"},
        },
        {"tool": "run_test", "args": {"path": "repro_test_{{ index }}.py"}},
        {"tool": "submit", "args": {}},
    ]


TOOL_NAMES = ["view", "search", "find_files", "edit", "run", "write_test", "run_test", "submit"]


def agent_config(**kw: Any) -> Any:
    """AgentConfig with the tools the scripts use (no repo_map: it indexes the repo, not needed here)."""
    from patchjury.agent.config import AgentConfig

    return AgentConfig(tools=TOOL_NAMES, **kw)

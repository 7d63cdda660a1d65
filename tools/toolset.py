"""The tools of one run as the agent sees them: names, schemas, one dispatcher, and the tools' own hooks.

    toolset = Toolset.from_config(ToolsConfig(names=["view", "edit", "submit"]))
    toolset.start(env, task)                    # each tool's on_start (repo_map centres on the issue)
    obs = toolset.run(env, name, arguments)     # never raises for model input
    toolset.changes_files(["view"])             # False: only read-only tools ran
    toolset.end(env)                            # each tool's on_end, then the tool state is cleared

The agent knows no tool by name: what a tool does at the start and end of a trajectory, whether it can change
files, and what a trajectory hands over (patch, reproduction tests, whether they reproduce) are asked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.records import Task, TestFile
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Observation, Tool
from patchjury.tools.registry import get_tools, openai_tool_schemas, run_tool


class Toolset:
    """A fixed list of tools sharing one ToolsConfig."""

    def __init__(self, tools: Sequence[Tool], config: ToolsConfig | None = None) -> None:
        self.config = config or ToolsConfig()
        self.by_name: dict[str, Tool] = {t.name: t for t in tools}
        self.schemas: list[dict[str, Any]] = openai_tool_schemas(list(tools))

    @classmethod
    def from_config(cls, config: ToolsConfig | None = None) -> Toolset:
        """The tools `config.names` names (all when None), each built with `config`."""
        config = config or ToolsConfig()
        return cls(get_tools(config.names, config), config)

    @property
    def names(self) -> list[str]:
        return list(self.by_name)

    def run(self, env: Env, name: str, arguments: str | dict[str, Any] | None) -> Observation:
        """Run one model tool call (bad calls become error observations; a broken Env propagates)."""
        return run_tool(env, self.by_name, name, arguments)

    def changes_files(self, names: Iterable[str]) -> bool:
        """Whether calls of these tools may have changed the work tree (unknown names count as changing)."""
        return any(not getattr(self.by_name.get(n), "read_only", False) for n in names)

    def start(self, env: Env, task: Task) -> None:
        """Every tool's start hook, when a trajectory of `task` starts in `env`."""
        for tool in self.by_name.values():
            tool.on_start(env, task)

    def end(self, env: Env) -> None:
        """Every tool's end hook, then the tools' state inside the Env (undo history, test manifest) is removed:
        it lives beside a local checkout, outside the work tree."""
        from patchjury.tools.state import clear_state

        try:
            for tool in self.by_name.values():
                tool.on_end(env)
        finally:
            clear_state(env, self.config)

    # -- what a trajectory hands over (the reproduction-test bookkeeping of write_test / run_test) ----------
    def outputs(self, env: Env) -> tuple[str, list[TestFile]]:
        """The current patch (reproduction tests excluded) and the reproduction tests."""
        from patchjury.tools.repro import list_tests

        tests = list_tests(env, self.config)
        return env.diff(exclude=[t.path for t in tests]), tests

    def reproduced(self, env: Env) -> bool | None:
        """Whether the reproduction tests exited 2 on the original code (None: not run there)."""
        from patchjury.tools.repro import reproduced_on_original

        return reproduced_on_original(env, self.config)

    def state(self, env: Env) -> dict[str, Any]:
        """Tool state worth carrying into a fresh Env on resume (the reproduction-test manifest)."""
        from patchjury.tools.repro import load_manifest

        return load_manifest(env, self.config)

    def restore(self, env: Env, state: dict[str, Any]) -> None:
        """Put back what `state` returned, in a fresh Env."""
        from patchjury.tools.repro import save_manifest

        save_manifest(env, state, self.config)

    def has_state(self, state: dict[str, Any]) -> bool:
        """Whether `state` holds anything (a workspace with neither changes nor tests needs no snapshot)."""
        return bool(state.get("tests"))

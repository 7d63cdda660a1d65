"""The whole tool flow inside a container (DockerEnv on the bookworm base image, no `python` alias)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from patchjury.envs.config import DockerEnvConfig
from patchjury.envs.registry import make_env
from patchjury.tools.config import ToolsConfig
from patchjury.tools.registry import get_tools, run_tool
from patchjury.tools.repo_map import set_focus_text

REPRO = "import sys\nfrom pkg.calc import add\nsys.exit(0 if add(2, 3) == 5 else 2)\n"


@pytest.mark.docker
def test_full_tool_flow_in_docker(
    make_repo: Callable[[dict[str, str]], Path], sample_files: dict[str, str], base_image: str, tmp_path: Path
) -> None:
    config = ToolsConfig(repomap_cache_dir=str(tmp_path / "cache"))
    tools = {t.name: t for t in get_tools(config=config)}
    env = make_env(DockerEnvConfig(image=base_image, source_repo=make_repo(sample_files)))
    try:

        def call(name: str, args: dict[str, object]) -> str:
            obs = run_tool(env, tools, name, args)
            assert not obs.error, f"{name} {args}: {obs.text}"
            return obs.text

        assert "pkg/calc.py" in call("view", {"path": "."})
        assert "pkg/calc.py:2:" in call("search", {"pattern": r"return a\s-\sb"})
        assert "pkg/shapes.py" in call("find_files", {"pattern": "*.py"})
        set_focus_text(env, "add() in pkg/calc.py subtracts", config)
        assert call("repo_map", {}).splitlines()[1] == "pkg/calc.py:"
        call("write_test", {"content": REPRO})
        assert "original code (base commit): exit 2: issue reproduced" in call(
            "run_test", {"on_original": True}
        )
        call(
            "edit",
            {
                "command": "str_replace",
                "path": "pkg/calc.py",
                "old_str": "add(a, b):\n    return a - b",
                "new_str": "add(a, b):\n    return a + b",
            },
        )
        result = call("run_test", {"on_original": True})
        assert (
            "exit 2: issue reproduced" in result and "current code (your changes): exit 0: resolved" in result
        )
        assert "exit code 3" in call("run", {"command": "exit 3"})
        obs = run_tool(env, tools, "submit", {})
        assert obs.submitted
        assert "+    return a + b" in obs.data["patch"] and "reproduce_issue.py" not in obs.data["patch"]
        assert [t["path"] for t in obs.data["tests"]] == ["reproduce_issue.py"]
        assert obs.data["reproduced"] is True
    finally:
        env.close()

"""`repo_map`: the most relevant classes/functions of the repository (Python only), ranked toward a focus.

Also usable without the model: `repo_map_text(env, focus_text)` for an initial prompt, and
`set_focus_text(env, issue_text)` so later `repo_map` calls are personalized toward the issue automatically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.records import Task
from patchjury.tools.base import BaseTool
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Observation
from patchjury.tools.repomap import repo_tags
from patchjury.tools.repomap_focus import find_focus
from patchjury.tools.repomap_rank import build_map, tokens
from patchjury.tools.state import state_dir


def _focus_path(env: Env, config: ToolsConfig) -> str:
    return f"{state_dir(env, config)}/focus.txt"


def set_focus_text(env: Env, text: str, config: ToolsConfig | None = None) -> None:
    """Store text (usually the issue) inside the Env; every later repo_map call is personalized toward it."""
    env.write_file(_focus_path(env, config or ToolsConfig()), text)


def stored_focus_text(env: Env, config: ToolsConfig | None = None) -> str:
    try:
        return env.read_file(_focus_path(env, config or ToolsConfig()))
    except OSError:
        return ""


def repo_map_text(
    env: Env,
    focus_text: str = "",
    focus_files: Sequence[str] = (),
    max_tokens: int | None = None,
    config: ToolsConfig | None = None,
) -> tuple[str, dict[str, Any]]:
    """(map text, info) for the Env's work tree; info has commit, cache_hit, files, definitions, shown, focus."""
    config = config or ToolsConfig()
    budget = max_tokens or config.repomap_tokens
    tags, info = repo_tags(env, config)
    focus = find_focus(tags, focus_text, focus_files)
    named = sorted(focus.files, key=lambda p: -focus.files[p])[:6]
    named += sorted(focus.idents, key=lambda n: -focus.idents[n])[:8]
    header = (
        f"Repository map: the most relevant Python definitions (line, signature), ranked toward "
        f"{', '.join(named) if named else 'the most referenced code'}. Other languages are not mapped.\n"
    )
    body, stats = build_map(tags, focus, max(budget - tokens(header), 16))
    if not body:
        body = (
            "(no Python definitions found)" if not tags else "(the token budget is too small for any entry)"
        )
    info = {**info, **stats, "focus_files": sorted(focus.files), "focus_idents": sorted(focus.idents)}
    return header + body, info


class RepoMapTool(BaseTool):
    name = "repo_map"
    read_only = True
    description = (
        "A map of the repository's most relevant Python classes, functions and methods (signatures with line "
        "numbers), ranked by how the code references each other and personalized toward what you name in "
        "`focus` (file paths, module paths like pkg.mod, class or function names from the issue) and `files`. "
        "Non-Python files are skipped. Use it early to find where to look; then view the files."
    )
    schema = {
        "type": "object",
        "properties": {
            "focus": {
                "type": "string",
                "description": "Text naming files, modules, classes or functions to center the map on.",
            },
            "files": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Files to center the map on.",
            },
            "max_tokens": {
                "type": "integer",
                "minimum": 64,
                "description": "Size budget of the map in tokens.",
            },
        },
        "additionalProperties": False,
    }

    def on_start(self, env: Env, task: Task) -> None:
        """Later calls without arguments centre on the issue."""
        set_focus_text(env, task.problem_statement, self.config)

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        focus = "\n".join(x for x in (stored_focus_text(env, self.config), args.get("focus", "")) if x)
        budget = min(args.get("max_tokens") or self.config.repomap_tokens, self.config.output_limit // 4)
        text, info = repo_map_text(env, focus, args.get("files") or [], budget, self.config)
        return Observation(text=text, data=info)


TOOL = RepoMapTool()

"""Shared machinery of the tools: a base class turning tool errors into observations, path and state helpers."""

from __future__ import annotations

import posixpath
import shlex
from typing import Any, ClassVar

from patchjury.envs.errors import EnvFileError
from patchjury.envs.output import truncate_output as truncate
from patchjury.envs.protocol import Env, ExecResult
from patchjury.records import Task
from patchjury.tools.config import ToolsConfig
from patchjury.tools.errors import ToolArgumentError, ToolError, ToolExecutionError
from patchjury.tools.protocol import Observation
from patchjury.tools.validate import check, coerce_integers


class BaseTool:
    """A tool with a config. Subclasses set name/description/schema and implement `_run`.

    `run` validates arguments against `schema` (the only place they are validated), calls `_run`, turns `ToolError` and failed file access into
    error observations, and truncates the text head+tail. A broken Env (engine gone, env closed) propagates.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    schema: ClassVar[dict[str, Any]]
    read_only: ClassVar[bool] = False
    """True for tools that never change the work tree (no workspace snapshot after them)."""

    def __init__(self, config: ToolsConfig | None = None) -> None:
        self.config = config or ToolsConfig()

    def run(self, env: Env, args: dict[str, Any]) -> Observation:
        if not isinstance(args, dict):
            return self.error(
                f"arguments must be a JSON object, got {type(args).__name__}", error_kind="bad_arguments"
            )
        problems = check(self.schema, args)
        if problems:
            text = f"bad call to {self.name}: " + "; ".join(problems) + ". " + self.usage()
            return self.error(text, error_kind="bad_arguments")
        try:
            obs = self._run(env, coerce_integers(self.schema, args))
        except ToolError as exc:
            return self.error(str(exc))
        except EnvFileError as exc:
            return self.error(f"{self.name}: {exc}")
        text, cut = truncate(obs.text, self.config.output_limit)
        if cut:
            obs = obs.model_copy(update={"text": text, "data": {**obs.data, "truncated": True}})
        return obs

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        raise NotImplementedError

    def on_start(self, env: Env, task: Task) -> None:
        """Nothing to prepare by default."""

    def on_end(self, env: Env) -> None:
        """Nothing to tidy by default (tools.toolset.Toolset.end clears the shared tool state)."""

    def error(self, text: str, **data: Any) -> Observation:
        text, _ = truncate(text, self.config.output_limit)
        return Observation(text=text, error=True, data=data)

    def usage(self) -> str:
        props = self.schema.get("properties", {})
        required = set(self.schema.get("required", []))
        parts = []
        for pname, sub in props.items():
            kind = sub.get("type", "any")
            if "enum" in sub:
                kind = "|".join(map(str, sub["enum"]))
            parts.append(f"{pname}: {kind}" + ("" if pname in required else " (optional)"))
        return f"Expected {self.name}({', '.join(parts)})."


def rel_path(env: Env, path: str) -> str:
    """`path` relative to the workdir when inside it, else the absolute path."""
    root = env.workdir.rstrip("/")
    if path == root:
        return "."
    if path.startswith(root + "/"):
        return path[len(root) + 1 :]
    return path


def resolve(env: Env, path: str, inside: bool = True) -> str:
    """Absolute normalized path for `path` (relative to the workdir, or absolute).

    With `inside`, paths that leave the repository are refused (edits there would not be in the patch).
    """
    path = path.strip()
    if not path:
        raise ToolArgumentError("path is empty: give a path relative to the repository root, e.g. src/app.py")
    root = posixpath.normpath(env.workdir)
    full = posixpath.normpath(path if path.startswith("/") else posixpath.join(root, path))
    if inside and full != root and not full.startswith(root + "/"):
        raise ToolArgumentError(
            f"path {path!r} is outside the repository {root}; use a path relative to the repository root"
        )
    if inside and (
        full == posixpath.join(root, ".git") or full.startswith(posixpath.join(root, ".git") + "/")
    ):
        raise ToolArgumentError(f"path {path!r} is inside .git; the git directory is not editable")
    return full


def q(value: str) -> str:
    """Shell-quote one word."""
    return shlex.quote(value)


def run_checked(env: Env, command: str, config: ToolsConfig, what: str) -> ExecResult:
    """Run a bookkeeping command; a non-zero exit becomes ToolExecutionError naming `what`."""
    result = env.execute(command, timeout=config.git_timeout)
    if not result.ok:
        tail = result.output.strip()[-1500:]
        raise ToolExecutionError(f"{what} failed (exit {result.exit_code}): {tail}")
    return result


def number_lines(lines: list[str], start: int) -> str:
    """Lines prefixed with their 1-based numbers, `cat -n` style."""
    width = max(6, len(str(start + len(lines))))
    return "\n".join(f"{n:>{width}}\t{line}" for n, line in enumerate(lines, start))

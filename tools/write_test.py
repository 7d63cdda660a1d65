"""`write_test`: write the reproduction test (a standalone script: exit 0 resolved, 2 reproduced)."""

from __future__ import annotations

import ast
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool, q, rel_path, resolve
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation
from patchjury.tools.repro import (
    base_commit,
    content_hash,
    load_manifest,
    python_command,
    save_manifest,
    test_command,
)

EXIT_NAMES = {"exit", "_exit", "SystemExit"}

CONVENTION = (
    "A reproduction test is a standalone Python script (no pytest needed) that exercises the behaviour the issue "
    "describes and ends with the exit code: 0 when the issue is resolved, 2 when the issue is still reproduced "
    "(e.g. `sys.exit(0 if result == expected else 2)`); any other exit code (an uncaught exception exits 1) "
    "means the test itself is broken."
)


class WriteTestTool(BaseTool):
    name = "write_test"
    description = (
        "Write (or rewrite) the reproduction test for the issue. "
        + CONVENTION
        + " It runs as `python <path>` from the repository root; keep it at the root (the default path) so it "
        "imports the project the same way the project's code does. The file is kept out of the submitted "
        "patch and handed to the jury with it. Then use run_test with "
        "on_original=true to check that it reproduces the issue on the original code (exit 2)."
    )
    schema = {
        "type": "object",
        "properties": {
            "content": {"type": "string", "minLength": 1, "description": "Full Python source of the test."},
            "path": {
                "type": "string",
                "description": "Path relative to the repo root (default set by operator).",
            },
        },
        "required": ["content"],
        "additionalProperties": False,
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        content: str = args["content"]
        path = resolve(env, args.get("path") or self.config.default_test_path)
        shown = rel_path(env, path)
        if not shown.endswith(".py"):
            raise ToolArgumentError(
                f"{shown}: a reproduction test must be a Python script; use a path ending in .py"
            )
        try:
            compile(content, shown, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise ToolArgumentError(
                f"the test has a syntax error at line {exc.lineno}: {exc.msg}; nothing was written"
            ) from None
        except ValueError as exc:
            raise ToolArgumentError(f"the test cannot be compiled ({exc}); nothing was written") from None
        if not _can_exit_2(content):
            raise ToolArgumentError(
                "the test never exits with code 2, so it cannot report that the issue is reproduced. "
                + CONVENTION
                + " Nothing was written."
            )
        manifest = load_manifest(env, self.config)
        base = base_commit(env, self.config, manifest)
        in_base = env.execute(f"git cat-file -e {q(f'{base}:{shown}')}", timeout=self.config.git_timeout)
        if in_base.exit_code == 0:
            raise ToolArgumentError(
                f"{shown} is a file of the repository; reproduction tests are kept out of the patch, so they must "
                "be new files. Choose a new path (e.g. reproduce_issue.py)"
            )
        python = python_command(env, self.config, manifest)
        entry = manifest["tests"].get(shown, {})
        rewritten = bool(entry)
        entry.update({"command": test_command(shown, python), "hash": content_hash(content)})
        manifest["tests"][shown] = entry
        env.write_file(path, content)
        save_manifest(env, manifest, self.config)
        verb = "Rewrote" if rewritten else "Wrote"
        return Observation(
            text=(
                f"{verb} reproduction test {shown} ({len(content.splitlines())} lines); it runs as "
                f"`{test_command(shown, python) or 'python ' + shown}`. Next: run_test with on_original=true."
            ),
            data={"path": shown},
        )


def _can_exit_2(source: str) -> bool:
    """True when the script calls an exit function and uses the literal 2 somewhere (a cheap static check)."""
    tree = ast.parse(source)
    exits = False
    two = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            exits = exits or name in EXIT_NAMES
        elif isinstance(node, ast.Constant) and type(node.value) is int and node.value == 2:
            two = True
    return exits and two


TOOL = WriteTestTool()

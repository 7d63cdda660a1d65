"""`run_test`: run reproduction tests on the current code and, optionally, on the original code."""

from __future__ import annotations

from typing import Any

from patchjury.envs.output import truncate_output
from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool, rel_path, resolve
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation
from patchjury.tools.repro import (
    TestRun,
    base_commit,
    content_hash,
    describe_exit,
    load_manifest,
    python_command,
    run_current,
    run_original,
    save_manifest,
    test_command,
)


class RunTestTool(BaseTool):
    name = "run_test"
    description = (
        "Run a reproduction test written with write_test (default: all of them) on the current code, and with "
        "on_original=true also on the original code (your changes are set aside for that run and restored). "
        "Exit 2 = issue reproduced, 0 = resolved, anything else = broken test. A good test exits 2 on the "
        "original code and 0 after the fix."
    )
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "Test path (default: every reproduction test)."},
            "on_original": {
                "type": "boolean",
                "description": "Also run it on the original code (default false).",
            },
        },
        "additionalProperties": False,
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        manifest = load_manifest(env, self.config)
        if not manifest["tests"]:
            raise ToolArgumentError("no reproduction test yet: write one with write_test first")
        if args.get("path"):
            shown = rel_path(env, resolve(env, args["path"]))
            if shown not in manifest["tests"]:
                known = ", ".join(sorted(manifest["tests"]))
                raise ToolArgumentError(
                    f"{shown} is not a reproduction test (known: {known}); write it with write_test first, "
                    "or use run for the repository's own tests"
                )
            paths = [shown]
        else:
            paths = sorted(manifest["tests"])
        python = python_command(env, self.config, manifest)
        on_original = bool(args.get("on_original"))
        base = base_commit(env, self.config, manifest) if on_original else ""
        sections, data = [], {}
        for path in paths:
            try:
                content = env.read_file(path)
            except OSError:
                sections.append(f"{path}: the file no longer exists (write it again with write_test)")
                continue
            entry = manifest["tests"][path]
            command = entry.get("command") or test_command(path, python) or f"python {path}"
            current = run_current(env, self.config, path, command)
            entry.update({"current_exit": current.exit_code, "current_hash": content_hash(content)})
            original = None
            if on_original:
                original = run_original(env, self.config, path, command, sorted(manifest["tests"]), base)
                entry.update({"original_exit": original.exit_code, "original_hash": content_hash(content)})
            save_manifest(env, manifest, self.config)
            sections.append(self._section(path, current, original))
            data[path] = {
                "exit_current": current.exit_code,
                "exit_original": original.exit_code if original else None,
                "reproduced": (original.exit_code == 2) if original else None,
            }
        return Observation(text="\n\n".join(sections), data={"results": data})

    def _section(self, path: str, current: TestRun, original: TestRun | None) -> str:
        limit = self.config.test_output_limit
        lines = [f"Reproduction test {path}"]
        if original is not None:
            lines.append(
                f"- original code (base commit): {describe_exit(original.exit_code, original.timed_out)}"
            )
        lines.append(f"- current code (your changes): {describe_exit(current.exit_code, current.timed_out)}")
        lines.append(_verdict(current, original))
        out, _ = truncate_output(current.output.strip() or "(no output)", limit)
        lines.append(f"Output on current code:\n{out}")
        if original is not None and not original.no_changes:
            out, _ = truncate_output(original.output.strip() or "(no output)", limit)
            lines.append(f"Output on original code:\n{out}")
        return "\n".join(lines)


def _verdict(current: TestRun, original: TestRun | None) -> str:
    cur = current.exit_code
    if original is not None:
        orig = original.exit_code
        same = " (no code changes yet, so original = current)" if original.no_changes else ""
        if orig == 0:
            return (
                f"=> The test does NOT reproduce the issue{same}: it passes on the original code. Make it detect "
                "the buggy behaviour and exit 2 when it sees it."
            )
        if orig != 2:
            return (
                f"=> The test is broken on the original code (exit {orig}){same}: it must run there and exit 2. "
                "Catch the failure the issue describes (exception or wrong result) and exit 2 for it; do not "
                "import anything your fix adds."
            )
        if original.no_changes:
            return "=> The test reproduces the issue on the original code. Now fix the code."
        if cur == 0:
            return "=> The test reproduces the issue on the original code and passes with your changes."
        if cur == 2:
            return "=> The test reproduces the issue, and your changes do not resolve it yet."
        return f"=> The test reproduces the issue, but it breaks (exit {cur}) with your changes."
    if cur == 0:
        return "=> Resolved on the current code (check with on_original=true that it reproduces the issue there)."
    if cur == 2:
        return "=> The issue is still reproduced on the current code."
    return f"=> The test is broken (exit {cur}): it must exit 0 or 2."


TOOL = RunTestTool()

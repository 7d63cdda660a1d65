"""`run`: a shell command in the Env, with a timeout; output truncated head+tail; exit code reported."""

from __future__ import annotations

from typing import Any

from patchjury.envs.output import truncate_output as truncate
from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool
from patchjury.tools.protocol import Observation


class RunTool(BaseTool):
    name = "run"
    description = (
        "Run a bash command in the repository root (e.g. run tests, a script, git status). Each call starts in "
        "the repository root (cd does not persist). Non-interactive: "
        "stdin is empty, so editors, pagers and REPLs cannot be used; use the edit tool to change files. "
        "Output (stdout+stderr) is truncated in the middle when long; the exit code is always reported. "
        "`timeout` in seconds (default and maximum set by the operator)."
    )
    schema = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "minLength": 1, "description": "The bash command line to run."},
            "timeout": {
                "type": "number",
                "minimum": 1,
                "description": "Seconds before the command is killed.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        cfg = self.config
        asked = float(args.get("timeout") or cfg.run_timeout)
        timeout = min(asked, cfg.run_max_timeout)
        # A block with stdin from /dev/null: a command waiting for input fails fast instead of hanging.
        result = env.execute("{\n" + args["command"] + "\n} < /dev/null", timeout=timeout)
        output = result.output.rstrip("\n")
        body, cut = truncate(output, max(cfg.output_limit - 300, 200))
        notes = []
        if result.timed_out:
            if "timed out" not in body[-200:]:
                notes.append(f"[command timed out after {timeout:g} s and was killed]")
            notes.append(
                "[run something shorter, in the background with output to a file, or pass a larger timeout]"
            )
        if asked > timeout:
            notes.append(f"[timeout lowered from {asked:g} s to the maximum {timeout:g} s]")
        if cut or result.truncated:
            notes.append(
                "[output truncated in the middle; redirect to a file and view/search it for details]"
            )
        status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        text = (body + "\n" if body else "(no output)\n") + "\n".join([*notes, f"[{status}]"])
        return Observation(
            text=text,
            error=False,
            data={"exit_code": result.exit_code, "timed_out": result.timed_out, "duration": result.duration},
        )


TOOL = RunTool()

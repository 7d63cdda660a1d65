"""`view`: show a file with line numbers (optionally a line range) or list a directory two levels deep."""

from __future__ import annotations

from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool, number_lines, q, rel_path, resolve
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation


class ViewTool(BaseTool):
    name = "view"
    read_only = True
    description = (
        "Show a text file with line numbers, or list a directory (two levels deep, hidden entries and .git "
        "skipped). Paths are relative to the repository root (absolute paths also work, e.g. an installed "
        "library). For long files pass view_range=[start, end] (1-based, inclusive; end -1 = end of file)."
    )
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File or directory, relative to the repository root."},
            "view_range": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 2,
                "maxItems": 2,
                "description": "[start, end] line numbers, 1-based inclusive; end -1 means end of file.",
            },
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        full = resolve(env, args["path"], inside=False)
        shown = rel_path(env, full)
        try:
            content = env.read_file(full)
        except OSError:
            return self._directory(env, full, shown, args)
        if "\x00" in content[:8192]:
            return self.error(f"{shown} is a binary file; view shows text files only")
        lines = content.splitlines()
        total = len(lines)
        start, end = 1, total
        if "view_range" in args:
            start, end = args["view_range"]
            if end == -1:
                end = total
            if start < 1 or end < start:
                raise ToolArgumentError(
                    f"view_range {args['view_range']} is invalid: use [start, end] with 1 <= start <= end "
                    f"(or end = -1); {shown} has {total} lines"
                )
            if start > max(total, 1):
                raise ToolArgumentError(
                    f"view_range starts at line {start} but {shown} has only {total} lines"
                )
            end = min(end, total)
        if total == 0:
            return Observation(text=f"{shown} is empty (0 lines)", data={"path": shown, "lines": 0})
        header = f"{shown} (lines {start}-{end} of {total})" if (start, end) != (1, total) else shown
        budget = self.config.output_limit - len(header) - 300
        shown_end, size = start - 1, 0
        for line in lines[start - 1 : end]:
            size += len(line) + 9
            if size > budget and shown_end >= start:
                break
            shown_end += 1
        text = f"{header}\n{number_lines(lines[start - 1 : shown_end], start)}"
        if shown_end < end:
            text += (
                f"\n[output limit reached: showing lines {start}-{shown_end} of {total}; pass "
                f"view_range=[{shown_end + 1}, {end if end < total else -1}] to continue, or use search]"
            )
        return Observation(text=text, data={"path": shown, "lines": total})

    def _directory(self, env: Env, full: str, shown: str, args: dict[str, Any]) -> Observation:
        if "view_range" in args:
            probe = env.execute(f"test -d {q(full)}", timeout=self.config.git_timeout)
            if probe.exit_code == 0:
                raise ToolArgumentError(f"{shown} is a directory: view_range applies to files only")
        limit = self.config.dir_max_entries
        cmd = (
            f"if [ -d {q(full)} ]; then cd {q(full)} && "
            "find . -mindepth 1 -maxdepth 2 \\( -name '.*' -prune \\) -o \\( -type d -printf '%P/\\n' \\) "
            "-o -printf '%P\\n' "
            f"| LC_ALL=C sort | awk -v max={limit} 'NR<=max {{print}} END {{print \"__PJ_TOTAL__=\" NR}}'; "
            f"elif [ -e {q(full)} ]; then echo __PJ_UNREADABLE__; else echo __PJ_MISSING__; fi"
        )
        result = env.execute(cmd, timeout=self.config.git_timeout)
        out = result.output.strip()
        if "__PJ_MISSING__" in out:
            raise ToolArgumentError(
                f"{shown} does not exist; use view on a parent directory or find_files to locate the file"
            )
        if "__PJ_UNREADABLE__" in out or "__PJ_TOTAL__=" not in out:
            raise ToolArgumentError(f"cannot read {shown}: {out[-500:]}")
        body, _, total_s = out.rpartition("__PJ_TOTAL__=")
        total = int(total_s.strip() or 0)
        listing = body.rstrip("\n")
        note = f"\n[{total - limit} more entries not shown; view a subdirectory]" if total > limit else ""
        text = f"{shown}/ (directory, 2 levels, hidden entries skipped)\n{listing or '(empty)'}{note}"
        return Observation(text=text, data={"path": shown, "directory": True, "entries": total})


TOOL = ViewTool()

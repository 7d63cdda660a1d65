"""`find_files`: list repository files whose name or path matches a glob, capped."""

from __future__ import annotations

from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool, q, rel_path, resolve
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation


class FindFilesTool(BaseTool):
    name = "find_files"
    read_only = True
    description = (
        "Find files by name. `pattern` is a glob: without '/' it matches file names at any depth "
        "('*.py', 'test_*.py', 'setup.cfg'); with '/' it matches paths from the search root "
        "('src/**/models.py'). Lists tracked and new files (git-ignored ones skipped), capped; the total "
        "count is always reported."
    )
    schema = {
        "type": "object",
        "properties": {
            "pattern": {
                "type": "string",
                "minLength": 1,
                "description": "Glob on file names, e.g. '*config*.py'.",
            },
            "path": {"type": "string", "description": "Directory to search under (default: whole repo)."},
            "ignore_case": {"type": "boolean", "description": "Case-insensitive match (default false)."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        pattern: str = args["pattern"].strip()
        where = resolve(env, args.get("path") or ".")
        target = rel_path(env, where)
        base = "" if target == "." else target.rstrip("/") + "/"
        spec = f"{base}{pattern.lstrip('/')}" if "/" in pattern else f"{base}**/{pattern}"
        magic = "glob,icase" if args.get("ignore_case") else "glob"
        name_flag = "-iname" if args.get("ignore_case") else "-name"
        limit = self.config.find_max_results
        find_cmd = (
            f"find {q(target)} -name .git -prune -o -type f {name_flag} {q(pattern.rsplit('/', 1)[-1])} -print "
            "| sed 's|^\\./||'"
        )
        cmd = (
            f"cd {q(env.workdir)} && [ -d {q(target)} ] || exit 3; "
            "if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then "
            f"git ls-files --cached --others --exclude-standard -- {q(f':({magic}){spec}')}; "
            f"else {find_cmd}; fi "
            f"| LC_ALL=C sort -u | awk -v max={limit} 'NR <= max {{print}} END {{print \"__PJ_TOTAL__=\" NR}}'"
        )
        result = env.execute(cmd, timeout=self.config.git_timeout)
        if result.exit_code == 3:
            raise ToolArgumentError(
                f"{target} is not a directory of the repository; omit path to search everywhere"
            )
        if "__PJ_TOTAL__=" not in result.output:
            raise ToolArgumentError(f"find_files failed for {pattern!r}: {result.output.strip()[-1000:]}")
        body, _, total_s = result.output.rpartition("__PJ_TOTAL__=")
        total = int(total_s.strip() or 0)
        files = [line for line in body.splitlines() if line.strip()]
        # git ls-files lists files deleted from the work tree until staged; drop nothing here, say so in text.
        scope = f" under {target}" if target != "." else ""
        if total == 0:
            hint = "" if "*" in pattern else f" (no wildcard: try '*{pattern}*')"
            return Observation(text=f"No files match {pattern!r}{scope}{hint}.", data={"count": 0})
        text = f"{total} files match {pattern!r}{scope}"
        if total > limit:
            text += f" (showing the first {limit}; use a narrower pattern or path)"
        text += ":\n" + "\n".join(files)
        return Observation(text=text, data={"count": total})


TOOL = FindFilesTool()

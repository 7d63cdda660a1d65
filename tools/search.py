"""`search`: regex search over the repository's files (git grep; plain grep outside git), capped results."""

from __future__ import annotations

from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool, q, rel_path, resolve
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation


class SearchTool(BaseTool):
    name = "search"
    read_only = True
    description = (
        "Search file contents for a regular expression (Perl-compatible: \\b, \\d, \\s work). Searches tracked "
        "and new files, skips binaries and git-ignored files. Prints path:line:text, capped; the total number "
        "of matches is always reported. Narrow with `path` (a directory or file) and `glob` (e.g. '*.py'). "
        "Set literal=true to search for a fixed string (no regex)."
    )
    schema = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "minLength": 1, "description": "Regular expression to look for."},
            "path": {
                "type": "string",
                "description": "Directory or file to search in (default: whole repo).",
            },
            "glob": {
                "type": "string",
                "description": "Only files whose name matches, e.g. '*.py' or 'test_*'.",
            },
            "ignore_case": {"type": "boolean", "description": "Case-insensitive match (default false)."},
            "literal": {"type": "boolean", "description": "Treat pattern as a fixed string (default false)."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        pattern: str = args["pattern"]
        where = resolve(env, args.get("path") or ".", inside=False)
        shown_where = rel_path(env, where)
        glob = args.get("glob") or ""
        flags = "-n -I --no-color"
        if args.get("ignore_case"):
            flags += " -i"
        mode = "-F" if args.get("literal") else "-P"
        grep_mode = "-F" if args.get("literal") else "-E"
        cfg = self.config
        root = env.workdir.rstrip("/")
        inside = where == root or where.startswith(root + "/")
        target = rel_path(env, where) if inside else where
        if glob and "/" not in glob:
            glob_spec = f"**/{glob}" if target == "." else f"{target}/**/{glob}"
        elif glob:
            glob_spec = glob if target == "." else f"{target}/{glob}"
        pathspec = q(f":(glob){glob_spec}") if glob else q(target)
        include = f"--include={q(glob.rsplit('/', 1)[-1])}" if glob else ""
        tmp = "/tmp/.pj_search.$$"
        plain = f"grep -r {flags} {grep_mode} --exclude-dir=.git {include} -e {q(pattern)} -- {q(target)} > {tmp} 2>&1; rc=$?; "
        # git grep with PCRE inside the checkout; ERE when git lacks PCRE; plain grep outside git.
        cmd = (
            f"cd {q(root)} || exit 3; [ -e {q(target)} ] || exit 3; "
            + (
                "if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then "
                f"git grep {flags} --untracked {mode} -e {q(pattern)} -- {pathspec} > {tmp} 2>&1; rc=$?; "
                f"if [ $rc -eq 128 ] && grep -q 'Perl' {tmp}; then "
                f"git grep {flags} --untracked {grep_mode} -e {q(pattern)} -- {pathspec} > {tmp} 2>&1; rc=$?; fi; "
                f"else {plain}fi; "
                if inside
                else plain
            )
            + f"if [ $rc -gt 1 ]; then head -c 2000 {tmp}; rm -f {tmp}; exit $rc; fi; "
            f"awk -v max={cfg.search_max_results} -v w={cfg.search_line_chars} "
            '\'{ split($0, a, ":"); files[a[1]] = 1; if (NR <= max) { if (length($0) > w) print substr($0, 1, w) " [...]"; else print } } '
            f'END {{ n = 0; for (f in files) n++; print "__PJ_TOTAL__=" NR " " n }}\' {tmp}; rm -f {tmp}'
        )
        result = env.execute(cmd, timeout=cfg.git_timeout)
        out = result.output
        if result.exit_code == 3:
            raise ToolArgumentError(
                f"{shown_where} does not exist; give a directory or file inside the repository"
            )
        if result.exit_code != 0 or "__PJ_TOTAL__=" not in out:
            msg = out.strip()[-1500:]
            raise ToolArgumentError(
                f"search failed for pattern {pattern!r}: {msg}. Check the regex syntax (escape ( ) [ ] {{ }} . * + ? "
                "with a backslash) or pass literal=true to search for the exact text"
            )
        body, _, counts = out.rpartition("__PJ_TOTAL__=")
        total, files = (int(x) for x in counts.split()[:2])
        scope = f" in {shown_where}" if shown_where != "." else ""
        scope += f" (files matching {glob})" if glob else ""
        if total == 0:
            text = f"No matches for {pattern!r}{scope}."
        else:
            text = f"{total} matches in {files} files for {pattern!r}{scope}"
            if total > cfg.search_max_results:
                text += f" (showing the first {cfg.search_max_results}; narrow with path or glob)"
            text += ":\n" + body.rstrip("\n")
        return Observation(text=text, data={"matches": total, "files": files})


TOOL = SearchTool()

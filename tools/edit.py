"""`edit`: change files — str_replace (unique match), create, insert after a line, undo the last edit.

Undo history lives inside the Env (tools.state), so an undo works after a process restart or resume.
Edits made with shell commands through `run` are not recorded for undo.
"""

from __future__ import annotations

import hashlib
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import BaseTool, number_lines, q, rel_path, resolve
from patchjury.tools.errors import ToolArgumentError
from patchjury.tools.protocol import Observation
from patchjury.tools.state import read_json, state_dir, write_json

SNIPPET_CONTEXT = 4


class EditTool(BaseTool):
    name = "edit"
    description = (
        "Edit files. Commands: "
        "`str_replace` (path, old_str, new_str): replace old_str, which must match EXACTLY ONCE in the file "
        "(whitespace and indentation included; add surrounding lines to make it unique); "
        "`create` (path, file_text, overwrite?): write a new file (refuses an existing file unless overwrite=true); "
        "`insert` (path, insert_line, new_str): insert new_str after line insert_line (0 = at the top); "
        "`undo` (path): revert the last edit of that file made with this tool. "
        "Prefer small, targeted str_replace edits."
    )
    schema = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": ["str_replace", "create", "insert", "undo"]},
            "path": {"type": "string", "description": "File path relative to the repository root."},
            "old_str": {"type": "string", "description": "str_replace: exact text to replace (unique)."},
            "new_str": {"type": "string", "description": "str_replace / insert: the new text."},
            "file_text": {"type": "string", "description": "create: full content of the new file."},
            "insert_line": {
                "type": "integer",
                "minimum": 0,
                "description": "insert: line after which to insert.",
            },
            "overwrite": {
                "type": "boolean",
                "description": "create: replace an existing file (default false).",
            },
        },
        "required": ["command", "path"],
        "additionalProperties": False,
    }

    NEEDS = {
        "str_replace": ("old_str", "new_str"),
        "create": ("file_text",),
        "insert": ("insert_line", "new_str"),
        "undo": (),
    }

    def _run(self, env: Env, args: dict[str, Any]) -> Observation:
        command = args["command"]
        missing = [name for name in self.NEEDS[command] if name not in args]
        if missing:
            needs = ", ".join(("path", *self.NEEDS[command]))
            raise ToolArgumentError(f"edit command {command!r} needs {', '.join(missing)}; send: {needs}")
        path = resolve(env, args["path"])
        shown = rel_path(env, path)
        if command == "undo":
            return self._undo(env, path, shown)
        old = self._read(env, path)
        if command == "create":
            if old is not None and not args.get("overwrite"):
                raise ToolArgumentError(
                    f"{shown} already exists; use str_replace to change it, or create with overwrite=true to "
                    "replace it entirely"
                )
            new = args["file_text"]
            self._save(env, path, shown, old, new)
            verb = "Overwrote" if old is not None else "Created"
            return self._done(
                f"{verb} {shown} ({len(new.splitlines())} lines).", path, shown, new, 1, 0, before=old
            )
        if old is None:
            raise ToolArgumentError(f"{shown} does not exist; use find_files to locate it or command=create")
        if command == "str_replace":
            return self._replace(env, path, shown, old, args["old_str"], args["new_str"])
        return self._insert(env, path, shown, old, args["insert_line"], args["new_str"])

    # -- commands ------------------------------------------------------------------------------------------
    def _replace(self, env: Env, path: str, shown: str, old: str, old_str: str, new_str: str) -> Observation:
        if not old_str:
            raise ToolArgumentError("old_str is empty; give the exact text to replace (or use insert)")
        count = old.count(old_str)
        if count == 0 and "\r\n" in old and "\n" in old_str and "\r" not in old_str:
            old_str, new_str = old_str.replace("\n", "\r\n"), new_str.replace("\n", "\r\n")  # CRLF file
            count = old.count(old_str)
        if count == 0:
            raise ToolArgumentError(self._no_match(shown, old, old_str))
        if count > 1:
            lines = self._match_lines(old, old_str)
            raise ToolArgumentError(
                f"old_str matches {count} times in {shown} (at lines {', '.join(map(str, lines))}); it must be "
                "unique: include more surrounding lines in old_str"
            )
        at = old.index(old_str)
        new = old[:at] + new_str + old[at + len(old_str) :]
        if new == old:
            raise ToolArgumentError("old_str and new_str are identical: nothing would change")
        self._save(env, path, shown, old, new)
        first = old[:at].count("\n") + 1
        return self._done(f"Edited {shown}.", path, shown, new, first, new_str.count("\n"), before=old)

    def _insert(self, env: Env, path: str, shown: str, old: str, after: int, text: str) -> Observation:
        lines = old.splitlines(keepends=True)
        if after > len(lines):
            raise ToolArgumentError(f"insert_line {after} is past the end of {shown} ({len(lines)} lines)")
        if lines and not lines[-1].endswith("\n") and after == len(lines):
            lines[-1] += "\n"
        block = text if text.endswith("\n") else text + "\n"
        new = "".join(lines[:after]) + block + "".join(lines[after:])
        self._save(env, path, shown, old, new)
        return self._done(
            f"Inserted {block.count(chr(10))} lines after line {after} of {shown}.",
            path,
            shown,
            new,
            after + 1,
            block.count("\n") - 1,
            before=old,
        )

    def _undo(self, env: Env, path: str, shown: str) -> Observation:
        hist_path = self._history_path(env, path)
        history = read_json(env, hist_path) or {"path": path, "stack": []}
        if not history["stack"]:
            raise ToolArgumentError(
                f"no edit of {shown} to undo (only edits made with this tool are recorded)"
            )
        entry = history["stack"].pop()
        write_json(env, hist_path, history)
        if entry["existed"]:
            env.write_file(path, entry["content"])
            content = entry["content"]
            text = f"Undid the last edit of {shown} ({len(history['stack'])} earlier versions left)."
            return self._done(text, path, shown, content, 1, 0, snippet=False)
        env.execute(f"rm -f {q(path)}", timeout=self.config.git_timeout)
        return Observation(text=f"Undid the creation of {shown}: the file is removed.", data={"path": shown})

    # -- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _read(env: Env, path: str) -> str | None:
        try:
            return env.read_file(path)
        except OSError:
            probe = env.execute(f"test -e {q(path)}", timeout=30)
            if probe.exit_code == 0:
                raise ToolArgumentError(f"{rel_path(env, path)} exists but is not a readable file") from None
            return None

    def _history_path(self, env: Env, path: str) -> str:
        key = hashlib.sha1(path.encode()).hexdigest()[:16]
        return f"{state_dir(env, self.config)}/undo/{key}.json"

    def _save(self, env: Env, path: str, shown: str, old: str | None, new: str) -> None:
        """Record the previous version for undo, then write the new content."""
        hist_path = self._history_path(env, path)
        history = read_json(env, hist_path) or {"path": path, "stack": []}
        history["stack"].append({"existed": old is not None, "content": old or ""})
        history["stack"] = history["stack"][-self.config.undo_depth :]
        write_json(env, hist_path, history)
        env.write_file(path, new)

    def _done(
        self,
        headline: str,
        path: str,
        shown: str,
        content: str,
        first: int,
        extra: int,
        snippet: bool = True,
        before: str | None = None,
    ) -> Observation:
        lines = content.splitlines()
        parts = [headline]
        if snippet and lines:
            lo = max(1, first - SNIPPET_CONTEXT)
            hi = min(len(lines), first + extra + SNIPPET_CONTEXT)
            parts.append(f"Snippet of {shown} (lines {lo}-{hi}):\n{number_lines(lines[lo - 1 : hi], lo)}")
        warning = _syntax_warning(path, content, before)
        if warning:
            parts.append(warning)
        if snippet:
            parts.append("Review the change; use edit with command=undo to revert it.")
        return Observation(text="\n".join(parts), data={"path": shown})

    @staticmethod
    def _match_lines(text: str, needle: str) -> list[int]:
        lines, start = [], 0
        while (at := text.find(needle, start)) != -1:
            lines.append(text.count("\n", 0, at) + 1)
            start = at + 1
        return lines

    def _no_match(self, shown: str, text: str, old_str: str) -> str:
        msg = f"old_str was not found in {shown}; it must match the file exactly (whitespace included)."
        first = next((line.strip() for line in old_str.splitlines() if line.strip()), "")
        if first:
            hits = [n for n, line in enumerate(text.splitlines(), 1) if first in line]
            if hits:
                where = ", ".join(map(str, hits[:10]))
                msg += f" Its first line {first[:80]!r} occurs at line(s) {where}: view those lines and copy them exactly."
            else:
                msg += " View the file to copy the current text exactly."
        if text.count("\t") and "    " in old_str and "\t" not in old_str:
            msg += " Note: the file indents with tabs."
        return msg


def _compiles(path: str, content: str) -> bool:
    try:
        compile(content, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _syntax_warning(path: str, content: str, before: str | None) -> str:
    """A warning when an edit breaks a Python file that compiled before (the edit is kept; the model decides)."""
    if not path.endswith(".py") or (before is not None and not _compiles(path, before)):
        return ""
    try:
        compile(content, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return (
            f"WARNING: {path.rsplit('/', 1)[-1]} now has a syntax error at line {exc.lineno}: {exc.msg}. "
            "Fix it or undo."
        )
    except ValueError:
        return ""
    return ""


TOOL = EditTool()

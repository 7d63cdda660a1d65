"""One step of an agent's trajectory, in any format: the Step record; what a shell command or a SWE-agent action
is (run, test, edit, view, search, submit) and which script it runs (`run_target`, with the command that reruns
it); and the replay of the files the actions wrote (SWE-agent's create/open/edit, str_replace_editor, shell
heredocs) to their final text. The per-format readers (selection.trajectory_formats) build their steps from these.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Literal

StepKind = Literal["run", "test", "edit", "view", "search", "submit", "other"]


@dataclass
class Step:
    """One action and what the agent saw."""

    action: str
    observation: str = ""
    kind: StepKind = "other"
    returncode: int | None = None
    target: str | None = None
    """The file an edit or view touches, or the script a run executes."""


_TEST_RUNNERS = re.compile(
    r"^(?:python3?\s+-m\s+pytest|pytest|py\.test|\./tests/runtests\.py|bin/test|tox)\b"
)
_ENV_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*=\S*\s+)+")
_SIMPLE = re.compile(r"^[\w./=:,+@%-]+$")
_HEREDOC = re.compile(
    r"cat\s+(?:>\s*(?P<p1>\S+)\s+<<-?\s*['\"]?(?P<t1>\w+)['\"]?|<<-?\s*['\"]?(?P<t2>\w+)['\"]?\s*>\s*(?P<p2>\S+))\n"
)
_REFUSED = re.compile(
    r"(Your proposed edit has introduced new syntax error|Usage: |Error: |ERROR: |No file open|"
    r"No replacement was performed|/bin/bash: line \d+: syntax error)"
)
"""How SWE-agent's tools begin an observation when they refused an edit and left the file unchanged (0.x: the
lint check, usage and argument errors; 1.x str_replace_editor: no match)."""
_FILE_HEADER = re.compile(r"^\[File: [^\n]*? \((\d+) lines total\)\]\n")
_SWE_EDIT = re.compile(r"^edit\s+(\d+):(\d+)\s*\n(.*?)\n?end_of_edit\s*$", re.S)


def _rel(path: str, root: str | None) -> str:
    path = path.strip().strip("'\"")
    if root and path.startswith(root.rstrip("/") + "/"):
        path = path[len(root.rstrip("/")) + 1 :]
    elif path.startswith("/"):
        # /testbed/x.py, /astropy__astropy/x.py: the first directory is the repository root
        parts = path.split("/")
        path = "/".join(parts[2:]) if len(parts) > 2 else parts[-1]
    return path[2:] if path.startswith("./") else path


def run_target(command: str, root: str | None = None) -> tuple[StepKind, str | None, str | None]:
    """(kind, script path, the command as a simple rerunnable `python <path> ...` / `pytest ... <path>`) of one
    shell command line; `cd DIR && ...` prefixes are dropped."""
    cmd = command.strip()
    while True:
        m = re.match(r"^cd\s+(\S+)\s*&&\s*", cmd)
        if not m:
            break
        cmd = cmd[m.end() :]
    first = cmd.split("\n", 1)[0].strip()
    env = _ENV_PREFIX.match(first)  # `PYTHONPATH=. python x.py`: the program comes after the assignments
    bare = first[env.end() :] if env else first
    program = bare.split(maxsplit=1)[0].rsplit("/", 1)[-1] if bare else ""
    if _TEST_RUNNERS.match(bare) or re.match(r"^\S*python[\d.]*\s+-m\s+pytest\b", bare):
        kind: StepKind = "test"
    elif re.fullmatch(r"python[\d.]*", program):
        kind = "run"
    else:
        return "other", None, None
    try:
        words = shlex.split(first)
    except ValueError:
        return kind, None, None
    scripts = [w for w in words[1:] if w.endswith(".py") and not w.startswith("-")]
    if not scripts:
        return kind, None, None
    script = _rel(scripts[-1], root)
    simple = all(_SIMPLE.match(w) for w in words)
    rerun = shlex.join(script if w == scripts[-1] else w for w in words) if simple else None
    return kind, script, rerun


def _kind_of_swe(action: str) -> tuple[StepKind, str | None]:
    head = action.strip().split(maxsplit=1)
    verb = head[0] if head else ""
    arg = head[1].split("\n", 1)[0].strip() if len(head) > 1 else None
    if verb in ("edit", "create", "insert", "append"):
        return "edit", arg if verb == "create" else None
    if verb in ("open", "goto", "scroll_down", "scroll_up", "cat", "head", "tail"):
        return "view", arg if verb == "open" else None
    if verb in ("find_file", "search_dir", "search_file", "grep", "find", "ls") or verb.startswith(
        ("rover_search", "search")
    ):
        return "search", None
    if verb in ("submit", "succeed"):
        return "submit", None
    if verb == "str_replace_editor" and arg:
        sub = arg.split()[0]
        return ("view" if sub == "view" else "edit"), (arg.split()[1] if len(arg.split()) > 1 else None)
    return "other", None


def _shell_step(command: str, root: str | None) -> Step:
    kind, script, rerun = run_target(command, root)
    if kind == "other":
        low = command.lstrip()
        if "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in command or low.startswith("submit"):
            kind = "submit"
        elif low.startswith(("cat <<", "cat >", "sed -i", "echo ")) and (">" in command or "-i" in command):
            kind = "edit"
        elif low.startswith(("cat ", "sed -n", "head ", "tail ", "nl ", "less ")):
            kind = "view"
        elif low.startswith(("grep", "find ", "ls", "rg ", "git grep")):
            kind = "search"
    return Step(action=rerun or command, kind=kind, target=script)


def _shown_file(observation: str) -> str | None:
    """The whole file when a SWE-agent observation shows every line of it (`[File: p (N lines total)]` then lines
    `1:` to `N:`, as after an edit of a file that fits its window), else None."""
    head = _FILE_HEADER.match(observation.lstrip())
    if head is None:
        return None
    total = int(head.group(1))
    body = observation.lstrip()[head.end() :].split("\n")
    if len(body) < total:
        return None
    out = []
    for n, line in enumerate(body[:total], 1):
        number, sep, text = line.partition(":")
        if not sep or number != str(n):
            return None
        out.append(text)
    return "\n".join(out)


class _Files:
    """Replays file writes: SWE-agent's create/open/edit, str_replace_editor, shell heredocs."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self.files: dict[str, str] = {}
        self.open: str | None = None

    def swe(self, action: str, observation: str = "") -> None:
        """Replay one action; an edit the tool refused (its observation says so: a lint error, a usage error, a
        shell that could not parse the command) left the file as it was, so it is not replayed."""
        text = action.strip()
        verb, _, rest = text.partition(" ")
        refused = bool(_REFUSED.match(observation.lstrip()))
        if verb == "create" and rest.strip():
            path = _rel(rest.split("\n", 1)[0], self.root)
            if not (refused and path in self.files):  # "Error: File 'x' already exists." opens it as it is
                self.files[path] = ""
            self.open = path
        elif refused and verb in ("edit", "insert", "append", "str_replace_editor"):
            return
        elif verb == "open" and rest.strip():
            self.open = _rel(rest.split()[0], self.root)
        elif (m := _SWE_EDIT.match(text)) and self.open in self.files:
            lines = self.files[self.open or ""].split("\n") if self.files[self.open or ""] else []
            start, end = int(m.group(1)), int(m.group(2))
            lines[start - 1 : end] = m.group(3).split("\n")
            self.files[self.open or ""] = "\n".join(lines)
            shown = _shown_file(observation)
            if shown is not None:  # the tool showed the whole file after the edit: that is its text
                self.files[self.open or ""] = shown
        elif verb == "str_replace_editor":
            self._editor(text)
        else:
            self.shell(text)

    def _editor(self, text: str) -> None:
        try:
            words = shlex.split(text)
        except ValueError:
            return
        if len(words) < 3:
            return
        sub, path = words[1], _rel(words[2], self.root)
        opts = dict(zip(words[3::2], words[4::2], strict=False))
        if sub == "create" and "--file_text" in opts:
            self.files[path] = opts["--file_text"]
        elif sub == "str_replace" and path in self.files and "--old_str" in opts:
            self.files[path] = self.files[path].replace(opts["--old_str"], opts.get("--new_str", ""), 1)

    def shell(self, command: str) -> None:
        for m in _HEREDOC.finditer(command):
            path, tag = (m.group("p1"), m.group("t1")) if m.group("p1") else (m.group("p2"), m.group("t2"))
            body = command[m.end() :]
            end = re.search(rf"^{re.escape(tag)}\s*$", body, re.M)
            if end:
                self.files[_rel(path, self.root)] = body[: end.start()]

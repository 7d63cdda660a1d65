"""Agents' trajectories in every format we meet, read into one small shape: steps (action, observation, kind,
return code), how the run ended, its submission, and the Python scripts it wrote and ran.

Formats:
- `swe-agent`: SWE-agent's `.traj` files (`{"trajectory": [{"action", "observation", "thought", ...}], "info":
  {"exit_status", "submission"}}`) and bare lists of `{action, observation}` (as stored with the lite pools);
  actions are its commands (`create f`, `open f`, `edit 3:5` ... `end_of_edit`, `python f.py`, `submit`; 1.x:
  `str_replace_editor create|str_replace ...`).
- `mini-swe-agent`: `.traj.json` files (`{"info": {...}, "messages": [...], "trajectory_format":
  "mini-swe-agent-1"}`: one ```bash block per assistant message, `<returncode>N</returncode><output>` replies) and
  lists of `{command, returncode, observation}` steps.
- `patchjury`: our own records, read with the ground floor's one loader (patchjury.trajectory_record).
- `messages`: any other chat log (`{"messages": [...]}`): tool calls, bash blocks, or the assistant's text.

Nothing here raises on an unknown shape: the result then has no steps and `format` "unknown". Reading a file
that is not JSON raises TrajectoryError with the path and the fix.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from patchjury.records import Candidate, TestFile
from patchjury.selection.errors import CandidateFormatError
from patchjury.trajectory_record import RecordFileError, is_trajectory, parse_trajectory

StepKind = Literal["run", "test", "edit", "view", "search", "submit", "other"]
Format = Literal["swe-agent", "mini-swe-agent", "patchjury", "messages", "unknown"]


class TrajectoryError(CandidateFormatError):
    """A trajectory file cannot be read (missing, not JSON); the message names the file and the fix."""


@dataclass
class Step:
    """One action and what the agent saw."""

    action: str
    observation: str = ""
    kind: StepKind = "other"
    returncode: int | None = None
    target: str | None = None
    """The file an edit or view touches, or the script a run executes."""


@dataclass
class Trajectory:
    """What selection reads from a trajectory."""

    format: Format
    steps: list[Step] = field(default_factory=list)
    exit_status: str | None = None
    submission: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    """Final text of the files the trajectory created and wrote whole (create + edits replayed)."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The chat messages, for formats that record them (patchjury, mini-swe-agent)."""

    @property
    def present(self) -> bool:
        return bool(self.steps)

    def scripts(self) -> list[TestFile]:
        """The Python files it created and then ran (its reproduction scripts), with the command it last used."""
        out = []
        for path, content in self.files.items():
            if not path.endswith(".py"):
                continue
            runs = [s for s in self.steps if s.kind in ("run", "test") and s.target == path]
            if runs:
                out.append(TestFile(path=path, content=content, command=runs[-1].action))
        return out


_TEST_RUNNERS = re.compile(
    r"^(?:python3?\s+-m\s+pytest|pytest|py\.test|\./tests/runtests\.py|bin/test|tox)\b"
)
_ENV_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*=\S*\s+)+")
_SIMPLE = re.compile(r"^[\w./=:,+@%-]+$")
_MINI_BLOCK = re.compile(r"```(?:bash|sh)?\s*\n(.*?)```", re.S)
_MINI_RC = re.compile(r"<returncode>(-?\d+)</returncode>")
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


def _mini_steps(messages: list[dict[str, Any]], root: str | None) -> tuple[list[Step], dict[str, str]]:
    steps: list[Step] = []
    files = _Files(root)
    pending: Step | None = None
    for msg in messages:
        role, content = msg.get("role"), msg.get("content")
        text = content if isinstance(content, str) else json.dumps(content, default=str)
        if role == "assistant":
            blocks = _MINI_BLOCK.findall(text)
            pending = _shell_step(blocks[0].strip() if blocks else "", root) if blocks else None
            if pending is not None:
                files.shell(pending.action)
                steps.append(pending)
        elif role in ("user", "tool") and pending is not None:
            rc = _MINI_RC.search(text)
            pending.returncode = int(rc.group(1)) if rc else None
            pending.observation = text
            pending = None
    return steps, files.files


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


def _swe_steps(items: list[Any], root: str | None) -> tuple[list[Step], dict[str, str]]:
    steps: list[Step] = []
    files = _Files(root)
    for item in items:
        if not isinstance(item, dict):
            continue
        action = str(item.get("action") or "")
        obs = item.get("observation")
        observation = obs if isinstance(obs, str) else ("" if obs is None else json.dumps(obs, default=str))
        kind, script, rerun = run_target(action, root)
        target = script
        if kind == "other":
            kind, target = _kind_of_swe(action)
            target = _rel(target, root) if target else None
        files.swe(action, observation)
        steps.append(Step(action=rerun or action.strip(), observation=observation, kind=kind, target=target))
    return steps, files.files


def _ours(data: dict[str, Any]) -> tuple[list[Step], dict[str, str]]:
    steps: list[Step] = []
    files: dict[str, str] = {}
    results = {m.get("tool_call_id"): m for m in data.get("messages", []) if m.get("role") == "tool"}
    for msg in data.get("messages", []):
        for call in msg.get("tool_calls") or []:
            fn = call.get("function", call)
            name = str(fn.get("name", ""))
            try:
                args = json.loads(fn.get("arguments") or "{}")
            except (TypeError, json.JSONDecodeError):
                args = {}
            args = args if isinstance(args, dict) else {}
            obs = str(results.get(call.get("id"), {}).get("content", ""))
            path = args.get("path")
            if name in ("run", "bash", "execute"):
                step = _shell_step(str(args.get("command", "")), None)
                step.observation = obs
            elif name == "run_test" and isinstance(path, str):  # our tool: runs a test file by its path
                step = Step(action=f"python {path}", observation=obs, kind="run", target=path)
            else:
                kinds: dict[str, StepKind] = {
                    "submit": "submit",
                    "view": "view",
                    "repo_map": "view",
                    "search": "search",
                    "find_files": "search",
                }
                edits = ("edit", "create", "write", "write_file", "write_test", "insert")
                kind: StepKind = kinds.get(name, "edit" if name in edits else "other")
                step = Step(
                    action=f"{name} {json.dumps(args)[:500]}", observation=obs, kind=kind, target=path
                )
                if (
                    name in ("create", "write", "write_file", "write_test")
                    and isinstance(args.get("content"), str)
                    and path
                ):
                    files[str(path)] = args["content"]
            steps.append(step)
    return steps, files


def parse(data: Any, root: str | None = None) -> Trajectory:
    """A trajectory from already-loaded JSON (any format above); `format` is "unknown" when none fits."""
    if isinstance(data, list):
        if data and isinstance(data[0], dict) and "command" in data[0]:
            steps = [_shell_step(str(s.get("command", "")), root) for s in data if isinstance(s, dict)]
            heredocs = _Files(root)
            for step, raw in zip(steps, [s for s in data if isinstance(s, dict)], strict=True):
                step.returncode = raw.get("returncode")
                step.observation = str(raw.get("observation") or "")
                heredocs.shell(str(raw.get("command", "")))
            return Trajectory("mini-swe-agent", steps, files=heredocs.files)
        steps, written = _swe_steps(data, root)
        return Trajectory("swe-agent" if steps else "unknown", steps, files=written)
    if not isinstance(data, dict):
        return Trajectory("unknown")
    info: dict[str, Any] = data["info"] if isinstance(data.get("info"), dict) else {}
    exit_status = info.get("exit_status") or data.get("exit_status") or data.get("status")
    submission = info.get("submission") or data.get("submission") or data.get("patch")
    if is_trajectory(data):  # ours, through the ground floor's one loader
        try:
            record = parse_trajectory(data)
        except RecordFileError as exc:
            raise TrajectoryError(str(exc)) from exc
        steps, files = _ours({"messages": record.messages})
        return Trajectory(
            "patchjury", steps, record.status or None, record.patch or None, files, list(record.messages)
        )
    if str(data.get("trajectory_format", "")).startswith("mini-swe-agent") or (
        isinstance(data.get("messages"), list) and "mini_version" in info
    ):
        messages = [m for m in data["messages"] if isinstance(m, dict)]
        steps, files = _mini_steps(messages, root)
        return Trajectory("mini-swe-agent", steps, _str(exit_status), _str(submission), files, messages)
    if isinstance(data.get("trajectory"), list):
        steps, files = _swe_steps(data["trajectory"], root)
        return Trajectory("swe-agent", steps, _str(exit_status), _str(submission), files)
    if isinstance(data.get("steps"), list) and isinstance(data.get("messages"), list):
        steps, files = _ours(data)
        return Trajectory("patchjury", steps, _str(exit_status), _str(submission), files)
    if isinstance(
        data.get("messages"), list
    ):  # another agent's chat log: tool calls, bash blocks or plain text
        messages = [m for m in data["messages"] if isinstance(m, dict)]
        steps, files = _ours({"messages": messages})
        if not steps:
            steps, files = _mini_steps(messages, root)
        if not steps:
            steps = [
                Step(action=str(m.get("content") or "")) for m in messages if m.get("role") == "assistant"
            ]
        return Trajectory("messages", steps, _str(exit_status), _str(submission), files, messages)
    return Trajectory("unknown", exit_status=_str(exit_status), submission=_str(submission))


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def load(path: str | Path, root: str | None = None) -> Trajectory:
    """Read a trajectory file (`.traj`, `.traj.json`, our `.json`); raises TrajectoryError naming the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        raise TrajectoryError(f"cannot read trajectory {path}: {exc.strerror}; check the path") from exc
    except json.JSONDecodeError as exc:
        raise TrajectoryError(
            f"{path} is not JSON ({exc.msg} at line {exc.lineno}); pass a SWE-agent .traj, a mini-swe-agent "
            ".traj.json or a patchjury trajectory file"
        ) from exc
    try:
        return parse(data, root)
    except TrajectoryError as exc:
        raise TrajectoryError(f"{path}: {exc}") from exc


TRAJECTORY_SUFFIXES = (".traj.json", ".traj")


def _instance_id(path: Path) -> str:
    name = path.name
    for suffix in TRAJECTORY_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def trajectory_files(path: Path) -> list[Path]:
    """`path` itself when it is a trajectory file, else every `.traj` / `.traj.json` file under it (sorted)."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TRAJECTORY_SUFFIXES))


def candidates_from_trajectories(path: str | Path) -> list[Candidate]:
    """Candidates from SWE-agent `.traj` and mini-swe-agent `.traj.json` files (one file, or a folder of them):
    the patch is the run's submission, the tests are the Python scripts it created and ran (with the command it
    last used), the trajectory is the file. The instance id is the file's name (`<instance_id>.traj[.json]`);
    the candidate id is the folder the file sits in (`run1/<id>.traj` -> `run1`), else `c<n>`. A file that cannot
    be read still becomes a candidate (empty patch, so it is dropped) whose explanation says why."""
    root = Path(path)
    files = trajectory_files(root)
    if not files:
        raise TrajectoryError(
            f"{root}: no .traj or .traj.json files found; pass a SWE-agent or mini-swe-agent trajectory file or a "
            "folder of them"
        )
    out: list[Candidate] = []
    ids: dict[str, set[str]] = {}
    for file in files:
        iid = _instance_id(file)
        rel = file.parent.relative_to(root) if root.is_dir() else Path()
        parts = [p for p in rel.parts if p != iid]
        taken = ids.setdefault(iid, set())
        cid = "/".join(parts) or f"c{len(taken)}"
        while cid in taken:
            cid += "_"
        taken.add(cid)
        try:
            traj = load(file)
        except TrajectoryError:
            out.append(Candidate(instance_id=iid, candidate_id=cid, model_patch="", trajectory=str(file)))
            continue
        out.append(
            Candidate(
                instance_id=iid,
                candidate_id=cid,
                model_patch=traj.submission or "",
                tests=traj.scripts(),
                trajectory=str(file),
                status=traj.exit_status or "unknown",
            )
        )
    return out

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

Nothing here raises on an unknown shape: the result then has no steps and `format` "unknown". Single steps (their
kind, the script they run, the files they write) are read by selection.trajectory_steps; files are opened by
selection.trajectories.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from patchjury.records import TestFile
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.trajectory_steps import (
    Step,
    StepKind,
    _Files,
    _kind_of_swe,
    _rel,
    _shell_step,
    run_target,
)
from patchjury.trajectory_record import RecordFileError, is_trajectory, parse_trajectory

Format = Literal["swe-agent", "mini-swe-agent", "patchjury", "messages", "unknown"]


class TrajectoryError(CandidateFormatError):
    """A trajectory file cannot be read (missing, not JSON); the message names the file and the fix."""


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


_MINI_BLOCK = re.compile(r"```(?:bash|sh)?\s*\n(.*?)```", re.S)
_MINI_RC = re.compile(r"<returncode>(-?\d+)</returncode>")


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

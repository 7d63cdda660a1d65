"""Another agent's recorded bash commands, read from its trajectory file (for the `replay-bash` model).

Accepted sources (`FILE` or `FILE#INSTANCE_ID`):
- a mini-swe-agent `.traj.json`: `messages` (each assistant message holds one ```bash block; the next user
  message starts with `<returncode>N</returncode>`) and `info` (exit_status, submission);
- a row with `steps` [{command, returncode, observation}] (../shared/data/trajectories/*.jsonl.gz), alone in a
  .json file or one row of a JSON list / JSON Lines file (optionally .gz) chosen by `#INSTANCE_ID`.

Only what the agent did is read: its commands, their recorded return codes and its final submission. Labels
(resolved, reports) are never read here.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchjury.agent.errors import AgentConfigError

#: mini-swe-agent's action regex: exactly one ```bash block per assistant message.
BASH_BLOCK = re.compile(r"```bash\s*\n(.*?)\n```", re.DOTALL)
RETURNCODE = re.compile(r"<returncode>\s*(-?\d+)\s*</returncode>")
TIMED_OUT = re.compile(r"timed out and has been killed|Command timed out", re.IGNORECASE)
#: mini-swe-agent ends a run with a command printing this line first (the output is the submission).
SUBMIT_MARKER = "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
#: A file written with a heredoc: `cat <<'EOF' > path` ... `EOF` (how such agents write their scripts).
HEREDOC = re.compile(
    r"cat\s*<<-?\s*['\"]?(\w+)['\"]?\s*>\s*([\w./-]+\.py)[^\n]*\n(.*?)\n\1\s*$", re.DOTALL | re.M
)


class RecordedTrajectoryError(AgentConfigError):
    """A recorded trajectory cannot be read: missing file, unknown format, ambiguous or unknown instance."""


@dataclass
class RecordedCommand:
    """One command the recorded agent ran, with what its environment answered."""

    command: str
    returncode: int | None
    """Exit status recorded by the original run; None when none was recorded (timeout, the submit command)."""
    timed_out: bool = False
    observation: str = ""

    @property
    def is_submit(self) -> bool:
        return SUBMIT_MARKER in self.command


@dataclass
class RecordedRun:
    """The recorded trajectory of one instance."""

    source: str
    """`mini-swe-agent` or `steps`."""
    path: str
    instance_id: str | None
    commands: list[RecordedCommand] = field(default_factory=list)
    submission: str | None = None
    """The final patch the run submitted (model_patch / info.submission), None when unknown."""
    exit_status: str | None = None
    tests: list[dict[str, str]] = field(default_factory=list)
    """Python scripts the agent wrote ({path, content}, last version of each path): the row's `tests`, else
    the heredocs of its commands."""


def scripts_from_commands(commands: list[RecordedCommand]) -> list[dict[str, str]]:
    """The Python files the commands wrote with heredocs, last version of each path, in first-written order."""
    files: dict[str, str] = {}
    for cmd in commands:
        for _, path, body in HEREDOC.findall(cmd.command):
            files[path.removeprefix("./").removeprefix("/testbed/")] = body + "\n"
    return [{"path": p, "content": c} for p, c in files.items()]


def _text(content: Any) -> str:
    """Message content as text (plain strings or lists of {type: text, text} parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


def _read_any(path: Path) -> Any:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except OSError as exc:
        raise RecordedTrajectoryError(
            f"cannot read recorded trajectory {path}: {exc.strerror or exc}; pass an existing file"
        ) from exc
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RecordedTrajectoryError(
                    f"{path}: neither JSON nor JSON Lines (line {n}: {exc.msg}); pass a mini-swe-agent "
                    ".traj.json or a file of rows with `steps`"
                ) from exc
    return rows


def _from_mini(path: str, data: dict[str, Any]) -> RecordedRun:
    info: dict[str, Any] = data["info"] if isinstance(data.get("info"), dict) else {}
    msgs = [m for m in data["messages"] if isinstance(m, dict)]
    commands: list[RecordedCommand] = []
    for i, msg in enumerate(msgs):
        if msg.get("role") != "assistant":
            continue
        blocks = BASH_BLOCK.findall(_text(msg.get("content")))
        if len(blocks) != 1:  # mini-swe-agent answers a format error and runs nothing
            continue
        reply = _text(msgs[i + 1].get("content")) if i + 1 < len(msgs) else ""
        code = RETURNCODE.search(reply)
        commands.append(
            RecordedCommand(
                command=blocks[0],
                returncode=int(code.group(1)) if code else None,
                timed_out=code is None and bool(TIMED_OUT.search(reply[:300])),
                observation=reply,
            )
        )
    return RecordedRun(
        source="mini-swe-agent",
        path=path,
        instance_id=data.get("instance_id") or info.get("instance_id"),
        commands=commands,
        submission=info.get("submission"),
        exit_status=info.get("exit_status"),
        tests=scripts_from_commands(commands),
    )


def _from_steps(path: str, row: dict[str, Any]) -> RecordedRun:
    commands = []
    for k, step in enumerate(row["steps"]):
        if not isinstance(step, dict) or not isinstance(step.get("command"), str):
            raise RecordedTrajectoryError(f"{path}: step {k} has no `command` string")
        rc = step.get("returncode")
        obs = str(step.get("observation") or "")
        commands.append(
            RecordedCommand(
                command=step["command"],
                returncode=int(rc) if isinstance(rc, int | str) and str(rc).lstrip("-").isdigit() else None,
                timed_out=rc is None and bool(TIMED_OUT.search(obs[:300])),
                observation=obs,
            )
        )
    given = row.get("tests")
    tests: list[dict[str, Any]] = given if isinstance(given, list) else []
    valid = isinstance(given, list) and all(
        isinstance(t, dict) and {"path", "content"} <= set(t) for t in tests
    )
    return RecordedRun(
        source="steps",
        path=path,
        instance_id=row.get("instance_id"),
        commands=commands,
        submission=row.get("model_patch"),
        exit_status=row.get("exit_status"),
        tests=[{"path": t["path"], "content": t["content"]} for t in tests]
        if valid
        else scripts_from_commands(commands),
    )


def _kind(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("steps"), list):
        return "steps"
    if isinstance(obj, dict) and isinstance(obj.get("messages"), list):
        return "mini-swe-agent"
    return None


def split_spec(spec: str) -> tuple[Path, str | None]:
    """`FILE#INSTANCE_ID` -> (FILE, INSTANCE_ID); a plain FILE (even one containing '#') -> (FILE, None)."""
    path, sep, iid = spec.rpartition("#")
    if not sep or Path(spec).exists():
        return Path(spec), None
    return Path(path), iid or None


def load_recorded(spec: str) -> RecordedRun:
    """The recorded run named by `spec` (see the module doc); RecordedTrajectoryError naming the fix."""
    path, iid = split_spec(spec)
    data = _read_any(path)
    rows = data if isinstance(data, list) else [data]
    if iid is not None:
        chosen = [r for r in rows if isinstance(r, dict) and r.get("instance_id") == iid]
        if not chosen and len(rows) == 1 and _kind(rows[0]) == "mini-swe-agent":
            chosen = rows  # a .traj.json need not carry its instance id
        if not chosen:
            raise RecordedTrajectoryError(f"{path}: no recorded trajectory for instance {iid!r}")
        rows = chosen[:1]
    if len(rows) != 1:
        raise RecordedTrajectoryError(
            f"{path} holds {len(rows)} trajectories; name one as FILE#INSTANCE_ID "
            "(swebench run: FILE#{instance_id})"
        )
    row = rows[0]
    kind = _kind(row)
    if kind == "steps":
        return _from_steps(str(path), row)
    if kind == "mini-swe-agent":
        return _from_mini(str(path), row)
    keys = ", ".join(sorted(row)[:8]) if isinstance(row, dict) else type(row).__name__
    raise RecordedTrajectoryError(
        f"{path}: unknown trajectory format (found {keys}); expected a mini-swe-agent .traj.json "
        "(`messages` with ```bash blocks) or a row with `steps` [{command, returncode, observation}]"
    )

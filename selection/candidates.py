"""Read candidate pools (JSONL or JSONL.gz) and SWE-bench instance files.

Two candidate formats are accepted on every line (and trajectory files, see `load_candidates`):
- ours: `instance_id`, `model_patch`, optional `candidate_id`, `tests` ([{path, content, command?}]), `trajectory`
  (path, relative to the candidates file or absolute, or inline object), `status`, `reproduced`, `cost`, and any
  other fields (kept on the Candidate as extras, e.g. `resolved` labels);
- SWE-bench predictions: `instance_id`, `model_patch` (may be null = empty), `model_name_or_path`.

Every bad line is reported (file:line, what is wrong, how to fix) in one CandidateFormatError; nothing is dropped
silently.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from patchjury.records import Candidate, Task
from patchjury.selection.errors import CandidateFormatError

_GOLD_HINT = ("patch", "test_patch", "FAIL_TO_PASS")
_MAX_REPORTED = 20


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file, gunzipped when it ends in `.gz`; unreadable input raises
    CandidateFormatError naming the file."""
    if not path.is_file():
        raise CandidateFormatError(f"{path}: no such file; pass a JSONL or JSONL.gz file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            yield from enumerate(fh, start=1)
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise CandidateFormatError(
            f"{path}: cannot read ({exc}); is it UTF-8 JSONL (optionally gzip)?"
        ) from exc


def json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of every non-blank line of a JSONL(.gz) file; a bad line raises naming file:line."""
    for n, line in text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CandidateFormatError(f"{path}:{n}: not JSON ({exc.msg}); one JSON object per line") from exc
        if not isinstance(row, dict):
            raise CandidateFormatError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        yield n, row


def _check_row(row: Any) -> str | None:
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    if not isinstance(row.get("instance_id"), str) or not row["instance_id"]:
        return "missing or empty 'instance_id' (a string such as 'django__django-11099')"
    if "model_patch" not in row:
        if all(k in row for k in _GOLD_HINT):
            return "no 'model_patch': this looks like a SWE-bench instances file; pass it as --instances"
        return "missing 'model_patch' (the candidate's unified diff; use null or '' for an empty patch)"
    if row["model_patch"] is not None and not isinstance(row["model_patch"], str):
        return f"'model_patch' must be a string or null, got {type(row['model_patch']).__name__}"
    return None


def _resolve_trajectory(value: Any, base: Path) -> Any:
    if isinstance(value, str) and value and not Path(value).is_absolute():
        candidate = base / value
        if candidate.exists():
            return str(candidate)
    return value


def load_candidates(path: str | Path) -> list[Candidate]:
    """All candidates of a JSONL(.gz) file, in file order; candidate_id filled per instance as `c{i}`. A SWE-agent
    `.traj` / mini-swe-agent `.traj.json` file, or a folder of them, gives one candidate per trajectory
    (selection.trajectories.candidates_from_trajectories)."""
    from patchjury.selection.trajectories import TRAJECTORY_SUFFIXES, candidates_from_trajectories

    path = Path(path)
    if path.is_dir() or path.name.endswith(TRAJECTORY_SUFFIXES):
        return candidates_from_trajectories(path)
    out: list[Candidate] = []
    errors: list[str] = []
    per_instance: dict[str, set[str]] = {}
    for lineno, line in text_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: invalid JSON ({exc.msg} at column {exc.colno}); fix or remove the line")
            continue
        problem = _check_row(row)
        if problem:
            errors.append(f"{where}: {problem}")
            continue
        row = dict(row)
        row["model_patch"] = row["model_patch"] or ""
        if "trajectory" in row:
            row["trajectory"] = _resolve_trajectory(row["trajectory"], path.parent)
        ids = per_instance.setdefault(row["instance_id"], set())
        if not row.get("candidate_id"):
            row["candidate_id"] = f"c{len(ids)}"
            while row["candidate_id"] in ids:
                row["candidate_id"] += "_"
        try:
            cand = Candidate.model_validate(row)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            errors.append(
                f"{where}: field '{loc}': {first['msg']} (see the candidate format in selection/candidates.py)"
            )
            continue
        if cand.candidate_id in ids:
            errors.append(
                f"{where}: duplicate candidate_id {cand.candidate_id!r} for {cand.instance_id}; make it unique"
            )
            continue
        ids.add(cand.candidate_id)
        out.append(cand)
    if errors:
        shown = "\n  ".join(errors[:_MAX_REPORTED])
        more = f"\n  ... and {len(errors) - _MAX_REPORTED} more" if len(errors) > _MAX_REPORTED else ""
        raise CandidateFormatError(f"{len(errors)} bad line(s) in {path}:\n  {shown}{more}")
    if not out:
        raise CandidateFormatError(f"{path}: no candidates found; expected one JSON object per line")
    return out


def group_by_instance(candidates: Sequence[Candidate]) -> dict[str, list[Candidate]]:
    """Candidates grouped by instance_id, instances and candidates in first-seen order."""
    groups: dict[str, list[Candidate]] = {}
    for cand in candidates:
        groups.setdefault(cand.instance_id, []).append(cand)
    return groups


def load_tasks(path: str | Path) -> dict[str, Task]:
    """instance_id -> Task (no gold fields) from a SWE-bench instances file (envs.swebench.instances formats)."""
    from patchjury.envs.swebench.instances import load_instances

    return {inst.instance_id: inst.to_task(include_hints=True) for inst in load_instances(path)}

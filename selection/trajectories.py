"""Agents' trajectory files, the front door: `load` reads one file (SWE-agent `.traj`, mini-swe-agent `.traj.json`,
our `.json`) into a Trajectory; `trajectory_files` and `candidates_from_trajectories` turn a file or a folder of
them into candidates (`--candidates FILE.traj`).

The formats and the shape they are read into live in selection.trajectory_formats (`parse`, Trajectory), single
steps in selection.trajectory_steps (Step, `run_target`); those names are importable from here too. Reading a file
that is not JSON raises TrajectoryError with the path and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

from patchjury.records import Candidate
from patchjury.selection.trajectory_formats import Format, Trajectory, TrajectoryError, parse
from patchjury.selection.trajectory_steps import Step, StepKind, run_target

__all__ = [
    "TRAJECTORY_SUFFIXES",
    "Format",
    "Step",
    "StepKind",
    "Trajectory",
    "TrajectoryError",
    "candidates_from_trajectories",
    "load",
    "parse",
    "run_target",
    "trajectory_files",
]


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

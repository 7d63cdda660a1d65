"""Run folders that cannot collide: unique ids, one process per folder, interrupted runs found again.

- `new_run_id(slug)`: `YYYYmmdd-HHMMSS-<slug>-<6 hex>`; two runs of one issue started in the same second differ.
- `RunLock(folder)`: an exclusive `flock` on `<folder>/.lock`, held for the life of the run. A second process
  targeting the same folder gets `RunInUseError` naming the holder (pid, host, command, since when). The kernel
  drops the lock when its process dies, SIGKILL included, so a dead run's lock never blocks anyone: its leftover
  `.lock` file only tells who held it last.
- `find_interrupted(runs_dir, key)`: the newest run of the same issue and commit that did not finish (no
  outcome, or an `interrupted` one) and is not running: `solve` resumes it instead of starting over at step 0.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from patchjury.core.errors import PatchjuryError

LOCK_FILE = ".lock"
RUN_FILE = "run.json"
"""Written at the start of a run: what identifies it (issue and commit) and how to resume it."""


class RunInUseError(PatchjuryError, RuntimeError):
    """Another live process holds the run folder."""


def new_run_id(slug: str) -> str:
    """A run id unique even for runs of one issue started in the same second."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug[:30].strip('-') or 'run'}-{secrets.token_hex(3)}"


def run_key(repo_commit: str, issue_text: str) -> str:
    """What makes two runs the same job: the commit and the issue text."""
    return hashlib.sha256(f"{repo_commit}\0{issue_text}".encode()).hexdigest()[:16]


class RunLock:
    """`with RunLock(folder):` - the folder is this process's until the block ends (or the process dies)."""

    def __init__(self, folder: Path, what: str = "run") -> None:
        self.folder = folder
        self.path = folder / LOCK_FILE
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunInUseError(
                f"the {self.what} folder {self.folder} is in use by {holder}; wait for it to finish (or stop "
                "it), or start a separate run (another --run-id / --out)"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv)[:300],
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    return (
        f"process {info.get('pid')} on {info.get('host')} since {info.get('since')} (`{info.get('command')}`)"
    )


def locked(folder: Path) -> bool:
    """True while a live process holds `folder`'s lock."""
    path = folder / LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def write_run_file(folder: Path, **data: Any) -> None:
    (folder / RUN_FILE).write_text(json.dumps(data, indent=2) + "\n")


def find_interrupted(runs_dir: Path, key: str) -> Path | None:
    """The newest unfinished, unlocked run folder of the job `key` under `runs_dir` (None if there is none)."""
    found: list[tuple[float, Path]] = []
    if not runs_dir.is_dir():
        return None
    for folder in runs_dir.iterdir():
        try:
            info = json.loads((folder / RUN_FILE).read_text())
        except (OSError, ValueError):
            continue
        if info.get("key") != key or locked(folder):
            continue
        try:
            status = json.loads((folder / "outcome.json").read_text()).get("status")
        except (OSError, ValueError):
            status = None  # never got that far: killed (SIGKILL, power loss) or crashed
        if status in (None, "interrupted"):
            found.append((float(info.get("started_at", 0)), folder))
    return max(found)[1] if found else None

"""The Env contract: where commands run. Backends: `docker` (isolated) and `local` (not isolated)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel


class ExecResult(BaseModel):
    """Outcome of one command. A failing command is a result, never an exception."""

    exit_code: int
    """Process exit code (124/137 on timeout, as `timeout` reports)."""
    output: str
    """stdout and stderr interleaved, decoded with errors='replace', truncated head+tail."""
    duration: float
    """Wall seconds."""
    timed_out: bool = False
    truncated: bool = False
    """True when `output` was cut in the middle."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@runtime_checkable
class Env(Protocol):
    """A repository checkout at a base commit where commands run."""

    workdir: str
    """Absolute path of the repository root inside the Env."""

    def execute(self, command: str, timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        """Run `command` with bash in `cwd` (default workdir); kill it after `timeout` seconds."""
        ...

    def read_file(self, path: str) -> str:
        """Read a text file (path relative to workdir, or absolute)."""
        ...

    def write_file(self, path: str, content: str) -> None:
        """Create or overwrite a text file, making parent directories."""
        ...

    def diff(self, exclude: Sequence[str] = ()) -> str:
        """Unified diff (with new files) against the base commit, excluding the named paths."""
        ...

    def reset(self) -> None:
        """Restore the checkout to the base commit: tracked changes and untracked files gone."""
        ...

    def close(self) -> None:
        """Release everything (container removed, temp dir deleted). Idempotent."""
        ...


EnvFactory = Callable[[], Env]
"""Starts a fresh Env: what every caller that needs Envs takes (an EnvPlan's `new_env`, see envs.plan)."""

"""Shared machinery of the git-checkout backends: paths, diff against the base commit, reset, close.

A backend supplies four primitives (`_run`, `_read_bytes`, `_write_bytes`, `_release`); diff/reset are then
shell scripts run inside the Env, so both backends behave identically.

Files that are untracked when the Env starts (build products such as `*.egg-info` or in-place compiled
extensions of an environment image) are part of the baseline: `diff()` never reports them and `reset()` keeps
them, while everything created later is removed (`git clean -fdx` minus the baseline).
"""

from __future__ import annotations

import posixpath
import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from patchjury.envs.errors import EnvClosedError, EnvCommandError
from patchjury.envs.patching import DROP_BYTECODE
from patchjury.envs.protocol import ExecResult

#: Seconds allowed for patchjury's own git commands (diff of a big repo, reset of a big tree).
GIT_TIMEOUT = 600.0


def _escape_ignore(path: str) -> str:
    """Make a path a literal, anchored gitignore pattern."""
    out = []
    for ch in path:
        if ch in "*?[\\":
            out.append("\\")
        out.append(ch)
    return "/" + "".join(out)


class GitCheckoutEnv(ABC):
    """Base of LocalEnv and DockerEnv: a git checkout at `base_commit` rooted at `workdir`."""

    workdir: str
    base_commit: str
    output_limit: int
    default_timeout: float
    diff_ignore: Sequence[str]
    _state_dir: str
    _index_lock: str = ""
    _closed: bool = False

    # -- backend primitives -------------------------------------------------------------------------------
    @abstractmethod
    def _run(self, command: str, timeout: float, cwd: str, limit: int) -> ExecResult:
        """Run `command` with bash; `limit` characters of output kept (0 = all)."""

    @abstractmethod
    def _read_bytes(self, path: str) -> bytes:
        """Read an absolute path."""

    @abstractmethod
    def _write_bytes(self, path: str, data: bytes) -> None:
        """Write an absolute path, creating parent directories."""

    @abstractmethod
    def _release(self) -> None:
        """Free the backend's resources (called once)."""

    # -- the Env protocol -----------------------------------------------------------------------------------
    def execute(self, command: str, timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        """Run `command` with bash in `cwd` (default workdir); kill it after `timeout` seconds."""
        self._check_open()
        t = self.default_timeout if timeout is None else timeout
        if t <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {t}")
        return self._run(command, t, self.abspath(cwd) if cwd else self.workdir, self.output_limit)

    def read_file(self, path: str) -> str:
        """Read a text file (relative to workdir, or absolute), undecodable bytes replaced."""
        self._check_open()
        return self._read_bytes(self.abspath(path)).decode("utf-8", errors="replace")

    def write_file(self, path: str, content: str) -> None:
        """Create or overwrite a text file (UTF-8), making parent directories."""
        self._check_open()
        self._write_bytes(self.abspath(path), content.encode("utf-8", errors="surrogateescape"))

    def diff(self, exclude: Sequence[str] = ()) -> str:
        """Unified diff (new files included, binary-safe) against the base commit, minus `exclude` paths."""
        self._check_open()
        specs = [f":(exclude){self._relpath(p)}" for p in exclude if self._relpath(p)]
        specs += [f":(exclude,glob){g}" for g in self.diff_ignore]
        spec = " ".join(shlex.quote(s) for s in [".", *specs])
        index = posixpath.join(self._state_dir, "diff-index")
        out = posixpath.join(self._state_dir, "diff.patch")
        script = (
            # Resolve the real index BEFORE exporting GIT_INDEX_FILE (an empty value is honoured by git), and
            # copy it with -p so git's racy-clean check still sees same-size edits made in the same second.
            f"set -e; real_index=$(git rev-parse --git-path index); "
            f'export GIT_INDEX_FILE={shlex.quote(index)}; rm -f "$GIT_INDEX_FILE"; '
            f'if [ -f "$real_index" ]; then cp -p "$real_index" "$GIT_INDEX_FILE"; fi; '
            f"git add -A -- {spec}; "
            f"git -c core.quotepath=off diff --cached --binary --no-color --no-ext-diff --no-renames "
            f'{self.base_commit} -- {spec} > {shlex.quote(out)}; rm -f "$GIT_INDEX_FILE"'
        )
        self._git(script, "compute the diff")
        data = self._read_bytes(out)
        return data.decode("utf-8", errors="replace")

    def reset(self) -> None:
        """Back to the base commit: tracked changes reverted, files and directories created since start removed
        (ignored ones included), files present at start kept. The cached bytecode of changed Python files goes too:
        a .pyc present at start (shipped in an image) may hold a patched version's code with the same recorded
        mtime second and size as the restored file (see envs.patching.DROP_BYTECODE)."""
        self._check_open()
        st = shlex.quote(self._state_dir)
        script = (
            f"set -e; rm -f {shlex.quote(self._index_lock)}; "
            f"git -c core.quotepath=off diff --name-only {self.base_commit} -- '*.py' | {DROP_BYTECODE}; "
            f"git checkout -q -f --detach {self.base_commit}; "
            f"find . -path ./.git -prune -o -print0 | LC_ALL=C sort -z > {st}/now.z; "
            f"cmp -s {st}/now.z {st}/paths.z || LC_ALL=C comm -z -23 {st}/now.z {st}/paths.z | xargs -0 -r rm -rf --"
        )
        self._git(script, "reset the checkout")

    def close(self) -> None:
        """Release everything. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._release()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------------------------
    def abspath(self, path: str) -> str:
        """`path` made absolute against workdir (and normalised)."""
        return posixpath.normpath(path if path.startswith("/") else posixpath.join(self.workdir, path))

    def _relpath(self, path: str) -> str:
        p = self.abspath(path)
        if p == self.workdir:
            return ""
        if p.startswith(self.workdir.rstrip("/") + "/"):
            return p[len(self.workdir.rstrip("/")) + 1 :]
        return path

    def _check_open(self) -> None:
        if self._closed:
            raise EnvClosedError(f"{type(self).__name__} at {self.workdir} is closed; create a new Env")

    def _git(self, script: str, what: str, cwd: str | None = None) -> str:
        res = self._run(script, GIT_TIMEOUT, cwd or self.workdir, 0)
        if res.exit_code != 0 or res.timed_out:
            tail = res.output[-2000:]
            raise EnvCommandError(f"could not {what} in {self.workdir} (exit {res.exit_code}):\n{tail}")
        return res.output

    def _record_baseline(self) -> None:
        """Record the base commit and what exists untracked at start (kept by reset, hidden from diff).

        One round trip: HEAD, the repo root, the info/exclude path and the untracked-but-not-ignored files;
        every path in the work tree at start is saved (sorted) in the state dir; reset() deletes the others.
        """
        st = shlex.quote(self._state_dir)
        out = self._git(
            f"set -e; mkdir -p {st}; git rev-parse --verify HEAD^{{commit}}; git rev-parse --show-toplevel; "
            f"git rev-parse --git-path info/exclude; git rev-parse --git-path index.lock; "
            f"find . -path ./.git -prune -o -print0 | LC_ALL=C sort -z > {st}/paths.z; "
            "printf '\\0--pj--\\0'; git ls-files -z -o --exclude-standard",
            "inspect the checkout",
        )
        head, unignored_z = out.split("\0--pj--\0")
        sha, toplevel, exclude_path, index_lock = head.splitlines()[:4]
        self._index_lock = self.abspath(index_lock)
        if toplevel != self.workdir:
            raise EnvCommandError(f"{self.workdir} is not the root of its git repository (root: {toplevel})")
        self.base_commit = sha
        unignored = [p for p in unignored_z.split("\0") if p and "\n" not in p]
        if unignored:
            # Untracked but not ignored at start: hide them from diff() via the repo's info/exclude.
            target = self.abspath(exclude_path)
            try:
                old = self._read_bytes(target)
            except OSError:
                old = b""
            extra = "".join(_escape_ignore(p) + "\n" for p in unignored).encode()
            sep = b"" if not old or old.endswith(b"\n") else b"\n"
            self._write_bytes(target, old + sep + b"# patchjury baseline\n" + extra)

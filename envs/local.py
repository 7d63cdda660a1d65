"""`local` backend: a temporary git worktree (or shared clone) on this machine. NOT isolated.

Commands run as the current user with the current environment; a command can read or change anything that
user can. Use it when Docker is unavailable and you trust what runs (your own tests, a deterministic agent).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from patchjury.envs.base import GitCheckoutEnv
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.errors import EnvCommandError, EnvConfigError, EnvFileError
from patchjury.envs.output import HeadTailBuffer
from patchjury.envs.protocol import ExecResult

#: Variables that would point git at another repository (set when running inside a git hook).
_GIT_REPO_VARS = frozenset(
    {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"}
)
#: Seconds between SIGTERM and SIGKILL of a timed-out command's process group.
KILL_GRACE = 2.0


def _git_host(args: list[str], cwd: Path | str, what: str) -> str:
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        raise EnvCommandError(f"could not {what}: git {' '.join(args)} failed: {run.stderr.strip()[-1500:]}")
    return run.stdout


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return


class LocalEnv(GitCheckoutEnv):
    """A checkout of `config.repo` at `config.commit` in a temporary directory; commands via subprocess."""

    def __init__(self, config: LocalEnvConfig) -> None:
        self.config = config
        self.output_limit = config.output_limit
        self.default_timeout = config.default_timeout
        self.diff_ignore = list(config.diff_ignore)
        inherited = {k: v for k, v in os.environ.items() if k not in _GIT_REPO_VARS}
        self._env = {**inherited, **config.env}
        repo = config.repo.expanduser().resolve()
        if not (repo / ".git").exists() and not repo.name.endswith(".git"):
            raise EnvConfigError(f"{repo} is not a git repository; pass the root of a git checkout as repo")
        self.source_repo = repo
        sha = _git_host(["rev-parse", "--verify", f"{config.commit}^{{commit}}"], repo, "resolve the commit")
        sha = sha.strip()
        self._tmp = Path(tempfile.mkdtemp(prefix="pj-local-", dir=config.tmp_dir)).resolve()
        self._worktree = False
        checkout = self._tmp / "repo"
        try:
            if config.use_worktree:
                _git_host(["worktree", "add", "-q", "--detach", str(checkout), sha], repo, "add a worktree")
                self._worktree = True
            else:
                _git_host(
                    ["clone", "-q", "--shared", "--no-checkout", str(repo), str(checkout)], self._tmp, "clone"
                )
                _git_host(["checkout", "-q", "--detach", sha], checkout, "check out the commit")
            self.workdir = str(checkout)
            self._state_dir = str(self._tmp / "state")
            self._record_baseline()
        except BaseException:
            self._closed = True
            self._release()
            raise

    # -- primitives ------------------------------------------------------------------------------------------
    def _run(self, command: str, timeout: float, cwd: str, limit: int) -> ExecResult:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                ["bash", "-c", command],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
            )
        except OSError as exc:  # e.g. cwd missing: a failed command, not a crash
            return ExecResult(exit_code=126, output=f"cannot start command: {exc}", duration=0.0)
        buf = HeadTailBuffer(limit)
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            while chunk := os.read(stdout.fileno(), 65536):
                buf.feed(chunk)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(proc.pid, signal.SIGKILL)
            rc = proc.wait()
        except BaseException:  # KeyboardInterrupt: leave no process behind
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if not timed_out:
            # A background child that outlived bash still holds the pipe: kill the group after a moment.
            reader.join(timeout=1.0)
            if reader.is_alive():
                _kill_group(proc.pid, signal.SIGKILL)
        else:
            _kill_group(proc.pid, signal.SIGKILL)
        reader.join(timeout=5.0)
        output, truncated = buf.render(limit)
        if rc < 0:
            rc = 128 - rc
        if timed_out:
            rc = 137 if rc == 128 + signal.SIGKILL else 124
            output += f"\n[command timed out after {timeout:g} s and was killed]"
        return ExecResult(
            exit_code=rc,
            output=output,
            duration=time.monotonic() - start,
            timed_out=timed_out,
            truncated=truncated,
        )

    def _read_bytes(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise EnvFileError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def _write_bytes(self, path: str, data: bytes) -> None:
        try:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        except OSError as exc:
            raise EnvFileError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _release(self) -> None:
        if self._worktree:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(self._tmp / "repo")],
                cwd=self.source_repo,
                capture_output=True,
            )
        shutil.rmtree(self._tmp, ignore_errors=True)
        if self._worktree:
            subprocess.run(["git", "worktree", "prune"], cwd=self.source_repo, capture_output=True)

"""`local` backend: a temporary git worktree (or shared clone) on this machine. NOT isolated.

Commands run as the current user; a command can read or change anything that user can. Use it when Docker is
unavailable and you trust what runs (your own tests, a deterministic agent). What it limits: commands see an
environment scrubbed to an allowlist (PATH, locale, TZ, TERM, USER; HOME and TMPDIR inside the temporary
directory) plus what the config passes explicitly (`env`, `pass_env`), so API keys and tokens of the calling
process are not visible to them; the temporary directory and running commands are removed at close, at exit,
on SIGTERM, and (after a SIGKILL) by the next process that starts a local Env in the same parent directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from patchjury.envs import cleanup
from patchjury.envs.base import GitCheckoutEnv
from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.errors import EnvCommandError, EnvConfigError, EnvFileError
from patchjury.envs.output import HeadTailBuffer
from patchjury.envs.protocol import ExecResult

#: Host variables commands inherit (besides `pass_env`); names ending in `*` are prefixes.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_*", "TZ", "TERM", "USER", "LOGNAME", "VIRTUAL_ENV")
#: Seconds between SIGTERM and SIGKILL of a timed-out command's process group.
KILL_GRACE = 2.0
_TIMEOUT = shutil.which("timeout") is not None


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


def scrubbed_environ(
    source: dict[str, str] | os._Environ[str], pass_env: list[str], extra: dict[str, str], home: Path
) -> dict[str, str]:
    """The environment of every command: the allowlist and `pass_env` from `source`, HOME and TMPDIR under
    `home`'s parent, then `extra` (explicit values win)."""
    allowed = [*ALLOWED_ENV, *pass_env]
    exact = {a for a in allowed if not a.endswith("*")}
    prefixes = tuple(a[:-1] for a in allowed if a.endswith("*"))
    env = {k: v for k, v in source.items() if k in exact or (prefixes and k.startswith(prefixes))}
    env.setdefault("PATH", os.defpath)
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home.parent / "tmp")
    return {**env, **extra}


class LocalEnv(GitCheckoutEnv):
    """A checkout of `config.repo` at `config.commit` in a temporary directory; commands via subprocess."""

    def __init__(self, config: LocalEnvConfig) -> None:
        self.config = config
        self.output_limit = config.output_limit
        self.default_timeout = config.default_timeout
        self.diff_ignore = list(config.diff_ignore)
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._procs_lock = threading.Lock()
        repo = config.repo.expanduser().resolve()
        if not (repo / ".git").exists() and not repo.name.endswith(".git"):
            raise EnvConfigError(f"{repo} is not a git repository; pass the root of a git checkout as repo")
        self.source_repo = repo
        sha = _git_host(["rev-parse", "--verify", f"{config.commit}^{{commit}}"], repo, "resolve the commit")
        sha = sha.strip()
        self._tmp = cleanup.owned_tempdir("pj-local-", config.tmp_dir)
        self._worktree = False
        cleanup.register(f"local checkout {self._tmp}", self.close)
        checkout = self._tmp / "repo"
        try:
            for sub in ("home", "tmp"):
                (self._tmp / sub).mkdir()
            self._env = scrubbed_environ(os.environ, config.pass_env, config.env, self._tmp / "home")
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
        # coreutils `timeout` as well: a command outliving this process (SIGKILL) still ends on time
        guard = ["timeout", "-k", f"{KILL_GRACE:g}", f"{timeout + KILL_GRACE:g}"] if _TIMEOUT else []
        try:
            proc = subprocess.Popen(
                [*guard, "bash", "-c", command],
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self._env,
            )
        except OSError as exc:  # e.g. cwd missing: a failed command, not a crash
            return ExecResult(exit_code=126, output=f"cannot start command: {exc}", duration=0.0)
        with self._procs_lock:
            self._procs.add(proc)
        try:
            return self._wait(proc, start, timeout, limit)
        finally:
            with self._procs_lock:
                self._procs.discard(proc)

    def _wait(self, proc: subprocess.Popen[bytes], start: float, timeout: float, limit: int) -> ExecResult:
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
        with self._procs_lock:
            running = list(self._procs)
        for proc in running:  # closed from another thread (SIGTERM, Ctrl-C): no command outlives the Env
            _kill_group(proc.pid, signal.SIGKILL)
        cleanup.unregister(f"local checkout {self._tmp}")
        if self._worktree:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(self._tmp / "repo")],
                cwd=self.source_repo,
                capture_output=True,
            )
        cleanup.remove_tempdir(self._tmp)
        if self._worktree:
            subprocess.run(["git", "worktree", "prune"], cwd=self.source_repo, capture_output=True)

"""`docker` backend: one container per Env, started from a prepared image; isolated and resource-limited.

Commands go through a persistent in-container runner (envs/runner.py, ~5 ms per command) or, without python3
in the image, through `docker exec` wrapped in the container's `timeout -k 5 N` (docker exec has no timeout);
either way a client-side guard kills the command's process group if no result arrives in time.
Every container is labelled (dev.patchjury.*) and removed on close, at exit, on SIGTERM, or by
`sweep_containers()` after a crash.
"""

from __future__ import annotations

import base64
import posixpath
import shlex
import threading
import time
import uuid
from typing import Any

from patchjury.envs import archive
from patchjury.envs.base import GitCheckoutEnv
from patchjury.envs.config import DockerEnvConfig
from patchjury.envs.errors import EnvCommandError, EnvConfigError, EnvFileError
from patchjury.envs.gitsource import checkout_tarball
from patchjury.envs.output import HeadTailBuffer
from patchjury.envs.protocol import ExecResult
from patchjury.envs.runner import RunnerClient, RunnerDied, render_reply
from patchjury.envs.sweep import (
    KEEPALIVE,
    LABEL_SANDBOX_UID,
    LABEL_SANDBOX_USER,
    docker_client,
    managed_labels,
    no_socket_timeout,
    register,
    remove_container,
    sweep_containers,
)

__all__ = ["DockerEnv", "sweep_containers"]

#: Seconds the client waits beyond a command's timeout before killing it from outside.
GUARD_GRACE = 15.0
#: Lets git work on a checkout owned by another uid (copied trees, mounted repos).
GIT_SAFE_ENV = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"}
_WRAPPER = (
    'exec 2>&1; cd -- "$2" || exit 126; '
    'timeout -k 5 "$3" bash -c "$1" </dev/null & p=$!; echo $p > "$4"; wait $p; rc=$?; '
    'kill -KILL -- -$p 2>/dev/null; rm -f "$4"; exit $rc'
)


def _uid_of(labels: dict[str, str], user: str) -> str:
    """Numeric uid of `user` (the image's sandbox user label carries it; a numeric user is its own)."""
    if user.split(":")[0].isdigit():
        return user.split(":")[0]
    if labels.get(LABEL_SANDBOX_USER) == user and labels.get(LABEL_SANDBOX_UID, "").isdigit():
        return labels[LABEL_SANDBOX_UID]
    raise EnvConfigError(
        f"cannot tell the uid of user {user!r} (copied files must belong to it): give it as uid:gid, or use an "
        "image built by patchjury (its sandbox user is labelled)"
    )


class DockerEnv(GitCheckoutEnv):
    """A container from `config.image` with the repository at `config.workdir`."""

    def __init__(self, config: DockerEnvConfig) -> None:
        from docker.errors import APIError, ImageNotFound
        from docker.types import Mount

        self.config = config
        self.output_limit = config.output_limit
        self.default_timeout = config.default_timeout
        self.diff_ignore = list(config.diff_ignore)
        self.workdir = posixpath.normpath(config.workdir)
        self._state_dir = "/tmp/.patchjury"
        self.client = docker_client()
        self.api = self.client.api
        try:
            image = self.client.images.get(config.image)
        except ImageNotFound as exc:
            raise EnvConfigError(
                f"image {config.image!r} not found; build it (envs.images.build_env_image, "
                f"`patchjury images bootstrap`) or `docker pull` it"
            ) from exc
        for m in config.mounts:
            if not m.source.exists():
                raise EnvConfigError(
                    f"mount source {m.source} does not exist on the host; fix the mounts list"
                )
        labels = (image.attrs.get("Config") or {}).get("Labels") or {}
        self.user: str = config.user if config.user is not None else labels.get(LABEL_SANDBOX_USER, "")
        self._uid = int(_uid_of(labels, self.user)) if self.user not in ("", "root", "0") else 0
        mounts = [Mount(m.target, str(m.source), type="bind", read_only=m.read_only) for m in config.mounts]
        if config.read_only_root:
            # The work tree, /tmp and HOME become anonymous volumes: docker copies the image's files at those
            # paths into them (owners and modes kept) and removes them with the container. Volumes, not tmpfs:
            # the engine's archive API (file transfer without the runner) cannot see into tmpfs mounts.
            home = "/root" if self.user in ("", "root", "0") else f"/home/{self.user}"
            for target in dict.fromkeys([self.workdir, "/tmp", home]):
                mounts.append(Mount(target, None, type="volume"))
        try:
            container = self.client.containers.run(
                config.image,
                entrypoint=KEEPALIVE,
                command=[],
                detach=True,
                labels=managed_labels("env", config.run_id, config.labels),
                mem_limit=config.memory,
                memswap_limit=config.memory,
                nano_cpus=int(config.cpus * 1e9),
                pids_limit=config.pids_limit,
                network_mode=None if config.network else "none",
                environment={**GIT_SAFE_ENV, **config.env},
                mounts=mounts,
                read_only=config.read_only_root,
                cap_drop=["ALL"],
                cap_add=list(config.cap_add) or None,
                security_opt=["no-new-privileges"] if config.no_new_privileges else None,
                user=self.user,
            )
        except APIError as exc:
            raise EnvConfigError(f"cannot start a container from {config.image!r}: {exc}") from exc
        self.container_id: str = container.id or ""
        self._runner: RunnerClient | None = None
        self._use_runner = config.use_runner
        self._runner_lock = threading.Lock()
        register(self.container_id, self.client)
        try:
            self._prepare()
        except BaseException:
            self._closed = True
            self._release()
            raise

    def _prepare(self) -> None:
        cfg = self.config
        wd = shlex.quote(self.workdir)
        prep = "command -v bash git timeout >/dev/null || { echo 'missing: bash, git or timeout'; exit 3; }"
        if cfg.source_repo is not None:
            if self.workdir == "/":
                raise EnvConfigError("workdir '/' cannot receive a copied repo; choose e.g. /testbed")
            # empty it (it may be a volume mount point, which cannot itself be removed)
            prep += f"; mkdir -p {wd} && find {wd} -mindepth 1 -maxdepth 1 -exec rm -rf -- {{}} +"
        elif cfg.commit:
            prep += f"; cd {wd} && git checkout -q -f --detach {shlex.quote(cfg.commit)}"
        # An image that already holds the repo needs no preparation: the baseline command below probes it.
        res = self._run(prep, 120, "/", 2000) if cfg.source_repo or cfg.commit else None
        if res is None:
            pass
        elif res.exit_code == 3:
            raise EnvConfigError(
                f"image {cfg.image!r} lacks bash, git or coreutils timeout; use an image built by "
                "envs.images.build_env_image or a patchjury base image"
            )
        elif res.exit_code != 0:
            raise EnvConfigError(
                f"cannot prepare {self.workdir} in {cfg.image!r}: {res.output.strip()[-500:]}"
            )
        if cfg.source_repo is not None:
            tar = checkout_tarball(cfg.source_repo, cfg.commit or "HEAD", self._uid)
            with open(tar, "rb") as fh:
                self.api.put_archive(self.container_id, self.workdir, fh)
        try:
            self._record_baseline()
        except EnvCommandError as exc:
            raise EnvConfigError(
                f"no git repository at {self.workdir} in image {cfg.image!r} (or the image lacks bash/git); "
                f"set source_repo to copy one in, or fix workdir ({str(exc)[-300:]})"
            ) from exc

    # -- primitives -------------------------------------------------------------------------------------------
    def _run(self, command: str, timeout: float, cwd: str, limit: int) -> ExecResult:
        if self._use_runner:
            for _attempt in range(2):
                try:
                    return self._run_via_runner(command, timeout, cwd, limit)
                except RunnerDied as exc:
                    self._drop_runner()
                    if self._use_runner and exc.started:
                        return ExecResult(
                            exit_code=137,
                            output="[the command was killed together with patchjury's command runner "
                            "(did it kill all processes?); its output is lost]",
                            duration=0.0,
                        )
        return self._run_exec(command, timeout, cwd, limit)

    def _get_runner(self) -> RunnerClient:
        with self._runner_lock:
            if self._runner is None:
                self._runner = RunnerClient(self.api, self.container_id, self.user)
            return self._runner

    def _drop_runner(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        runner.close()
        if runner.exit_code() == 99:  # no python3 in the image: plain exec from now on
            self._use_runner = False

    def _run_via_runner(self, command: str, timeout: float, cwd: str, limit: int) -> ExecResult:
        runner = self._get_runner()
        start = time.monotonic()
        pidfile = f"/tmp/.pj-exec-{uuid.uuid4().hex}.pid"
        try:
            reply = runner.request(command, cwd, timeout, limit, pidfile, timeout + 5 + GUARD_GRACE)
        except (
            TimeoutError
        ):  # the runner is stuck: kill it and the command from outside; a new one starts next
            self._kill_group(pidfile, runner.pidfile)
            runner.close()
            with self._runner_lock:
                if self._runner is runner:
                    self._runner = None
            output = f"[command timed out after {timeout:g} s and was killed from outside]"
            return ExecResult(exit_code=137, output=output, duration=time.monotonic() - start, timed_out=True)
        output, truncated = render_reply(reply, limit)
        timed_out = bool(reply.get("timed_out"))
        if timed_out:
            output += f"\n[command timed out after {timeout:g} s and was killed]"
        return ExecResult(
            exit_code=int(reply["rc"]),
            output=output,
            duration=time.monotonic() - start,
            timed_out=timed_out,
            truncated=truncated,
        )

    def _run_exec(self, command: str, timeout: float, cwd: str, limit: int) -> ExecResult:
        from docker.errors import APIError, NotFound
        from docker.utils.socket import frames_iter

        start = time.monotonic()
        pidfile = f"/tmp/.pj-exec-{uuid.uuid4().hex}.pid"
        argv = ["bash", "-c", _WRAPPER, "pj", command, cwd, f"{timeout:g}", pidfile]
        try:
            exec_id = self.api.exec_create(self.container_id, argv, stdout=True, stderr=True, user=self.user)[
                "Id"
            ]
            sock = self.api.exec_start(exec_id, socket=True)
        except NotFound as exc:
            raise EnvCommandError(f"container {self.container_id[:12]} is gone: {exc}") from exc
        except APIError as exc:
            raise EnvCommandError(f"container {self.container_id[:12]} cannot run commands: {exc}") from exc
        no_socket_timeout(sock)
        buf = HeadTailBuffer(limit)

        def pump() -> None:
            try:
                for _stream, data in frames_iter(sock, tty=False):
                    buf.feed(data)
            except OSError:
                return

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        reader.join(timeout + GUARD_GRACE)
        guarded = reader.is_alive()
        if guarded:  # the in-container timeout did not end it: kill the group from outside
            self._kill_group(pidfile)
            reader.join(10)
        sock.close()
        info = self.api.exec_inspect(exec_id)
        rc = info.get("ExitCode")
        duration = time.monotonic() - start
        output, truncated = buf.render(limit)
        timed_out = guarded or (rc in (124, 137) and duration >= timeout - 0.05)
        if rc is None:
            rc = 137
        if timed_out:
            output += f"\n[command timed out after {timeout:g} s and was killed]"
        return ExecResult(
            exit_code=rc, output=output, duration=duration, timed_out=timed_out, truncated=truncated
        )

    def _kill_group(self, pidfile: str, runner_pidfile: str = "") -> None:
        script = f'p=$(cat {pidfile} 2>/dev/null) && kill -KILL -- -"$p" "$p"; rm -f {pidfile}'
        if runner_pidfile:
            script += f'; r=$(cat {runner_pidfile} 2>/dev/null) && kill -KILL "$r"; rm -f {runner_pidfile}'
        self.api.exec_start(self.api.exec_create(self.container_id, ["bash", "-c", script])["Id"])

    def _file_op(self, req: dict[str, Any]) -> dict[str, Any] | None:
        """A read/write through the runner; None when the runner is unavailable (use the archive API)."""
        if not self._use_runner:
            return None
        try:
            return self._get_runner().call(req, 300)
        except (RunnerDied, TimeoutError):
            self._drop_runner()
        return None

    def _read_bytes(self, path: str) -> bytes:
        reply = self._file_op({"op": "read", "path": path})
        if reply is None:
            return archive.read_bytes(self.api, self.container_id, path)
        if "error" in reply:
            raise EnvFileError(f"cannot read {path}: {reply['error']}")
        return base64.b64decode(reply["data"])

    def _write_bytes(self, path: str, data: bytes) -> None:
        reply = self._file_op({"op": "write", "path": path, "data": base64.b64encode(data).decode()})
        if reply is None:
            archive.write_bytes(self.api, self.container_id, path, data, self._mkdir, self._uid)
        elif "error" in reply:
            raise EnvFileError(f"cannot write {path}: {reply['error']}")

    def _mkdir(self, path: str) -> None:
        made = self._run_exec(f"mkdir -p -- {shlex.quote(path)}", 60, "/", 2000)
        if made.exit_code != 0:
            raise EnvFileError(f"cannot create {path}: {made.output.strip()}")

    def _release(self) -> None:
        if getattr(self, "_runner", None) is not None:
            self._drop_runner()
        if getattr(self, "container_id", ""):
            remove_container(self.client, self.container_id)

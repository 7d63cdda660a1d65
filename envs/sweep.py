"""Docker plumbing shared by DockerEnv and the image builder: the client, labels, the live-container registry
(removed at exit, on SIGTERM and on Ctrl-C) and the sweep of leftovers from crashed runs."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import socket
import threading
import time
import uuid
from types import FrameType
from typing import TYPE_CHECKING, Any

from patchjury.envs.errors import EngineUnavailableError

if TYPE_CHECKING:
    from docker import DockerClient

LABEL_MANAGED = "dev.patchjury.managed"
LABEL_RUN = "dev.patchjury.run"
LABEL_CREATED = "dev.patchjury.created"
LABEL_OWNER = "dev.patchjury.owner"
LABEL_KIND = "dev.patchjury.kind"

#: This process's run id (override with PATCHJURY_RUN_ID); every container we start carries it.
RUN_ID = os.environ.get("PATCHJURY_RUN_ID") or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"

#: PID 1 of every container: survives `kill -9 -1` from inside (the kernel shields PID 1), reaps orphaned
#: zombies (so timed-out commands never eat the pids limit) and exits on SIGTERM.
KEEPALIVE = ["/bin/sh", "-c", 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']

log = logging.getLogger(__name__)

ENGINE_HINT = "start dockerd / is the Docker daemon running? (`docker info` must work)"

_client: DockerClient | None = None
_client_lock = threading.Lock()
_live: dict[str, DockerClient] = {}
_live_lock = threading.Lock()
_handlers_installed = False


def docker_client() -> DockerClient:
    """The process-wide docker client; EngineUnavailableError with a one-line fix if the engine is down."""
    global _client
    with _client_lock:
        if _client is not None:
            return _client
        import docker
        from docker.errors import DockerException

        try:
            client = docker.from_env(timeout=120, max_pool_size=64)
            client.ping()
        except DockerException as exc:
            raise EngineUnavailableError(f"cannot reach the Docker engine ({exc}); {ENGINE_HINT}") from exc
        _client = client
    # Start-up sweep, once per process: containers of crashed runs (owner process gone) are removed.
    try:
        removed = sweep_containers(client=client)
    except DockerException as exc:
        log.warning("could not sweep leftover patchjury containers: %s", exc)
    else:
        if removed:
            log.info("removed %d leftover patchjury container(s) from crashed runs", len(removed))
    return client


def no_socket_timeout(sock: Any) -> None:
    """Let a hijacked exec socket block forever (our own timeouts apply instead of the client's 120 s)."""
    for s in (sock, getattr(sock, "_sock", None)):
        if s is not None and hasattr(s, "settimeout"):
            s.settimeout(None)


def _proc_start(pid: int) -> str:
    """Start time of `pid` in clock ticks since boot ('' if unknown) - tells a live owner from a reused pid."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def owner_id() -> str:
    """host:pid:start-time of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{_proc_start(os.getpid())}"


def _owner_dead(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_s, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_s.isdigit():
        return False  # another machine's container: only age can sweep it
    pid = int(pid_s)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return bool(start) and _proc_start(pid) != start


def managed_labels(
    kind: str, run_id: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Labels every patchjury container carries."""
    return {
        **(extra or {}),
        LABEL_MANAGED: "1",
        LABEL_KIND: kind,
        LABEL_RUN: run_id or RUN_ID,
        LABEL_CREATED: f"{time.time():.3f}",
        LABEL_OWNER: owner_id(),
    }


def register(container_id: str, client: DockerClient) -> None:
    """Track a container so it is removed if the process exits (normally, Ctrl-C or SIGTERM)."""
    with _live_lock:
        _live[container_id] = client
    _install_handlers()


def unregister(container_id: str) -> None:
    with _live_lock:
        _live.pop(container_id, None)


def remove_container(client: DockerClient, container_id: str) -> None:
    """Force-remove a container (and its anonymous volumes); a missing container is fine."""
    from docker.errors import APIError, NotFound

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except NotFound:
        pass
    except APIError as exc:
        if "already in progress" not in str(exc):
            raise
    finally:
        unregister(container_id)


def cleanup_all() -> None:
    """Remove every container this process started and has not closed (atexit / signal handler)."""
    from docker.errors import DockerException

    with _live_lock:
        items = list(_live.items())
    for cid, client in items:
        try:
            remove_container(client, cid)
        except DockerException as exc:  # engine gone at exit: say so, the next sweep will catch it
            print(f"patchjury: could not remove container {cid[:12]}: {exc}", flush=True)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    cleanup_all()
    raise SystemExit(128 + signum)


def _install_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(cleanup_all)
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _on_sigterm)


def sweep_containers(
    older_than_s: float | None = None, run_id: str | None = None, client: Any = None
) -> list[str]:
    """Remove patchjury containers left by crashed runs; returns the removed ids.

    Removed: containers whose owning process (on this host) is gone, plus, when `older_than_s` is given,
    any patchjury container at least that many seconds old (0 = all). `run_id` restricts the sweep to
    one run. Containers this process still uses are never removed. The first `docker_client()` of every
    process calls this once (start-up sweep), so every front door sweeps before it starts containers.
    """
    client = client or docker_client()
    filters = [f"{LABEL_MANAGED}=1"] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])
    now = time.time()
    removed = []
    for info in client.api.containers(all=True, filters={"label": filters}):
        cid = info["Id"]
        if cid in _live:
            continue
        labels = info.get("Labels") or {}
        try:
            created = float(labels.get(LABEL_CREATED, info.get("Created", now)))
        except ValueError:
            created = float(info.get("Created", now))
        old = older_than_s is not None and now - created >= older_than_s
        if old or _owner_dead(labels.get(LABEL_OWNER, "")):
            remove_container(client, cid)
            removed.append(cid)
    return removed

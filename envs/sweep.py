"""Docker plumbing shared by DockerEnv and the image builder: the client, labels, the one image check, live
containers (registered with envs.cleanup: removed at exit, on Ctrl-C, and on SIGTERM once the entry point installs
the handler) and the sweep of leftovers from crashed runs. Nothing happens at import: the run id labelled on every
container is made on first use (`process_run_id`) or named (`set_run_id`)."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from patchjury.envs import cleanup
from patchjury.envs.errors import EngineUnavailableError

if TYPE_CHECKING:
    from docker import DockerClient

LABEL_MANAGED = "dev.patchjury.managed"
LABEL_RUN = "dev.patchjury.run"
LABEL_CREATED = "dev.patchjury.created"
LABEL_OWNER = "dev.patchjury.owner"
LABEL_KIND = "dev.patchjury.kind"
LABEL_SANDBOX_USER = "dev.patchjury.sandbox-user"
"""Image label: the unprivileged user sandboxes run as (patchjury's base and environment images)."""
LABEL_SANDBOX_UID = "dev.patchjury.sandbox-uid"
"""Image label: that user's numeric uid (= gid)."""

#: PID 1 of every container: survives `kill -9 -1` from inside (the kernel shields PID 1), reaps orphaned
#: zombies (so timed-out commands never eat the pids limit) and exits on SIGTERM.
KEEPALIVE = ["/bin/sh", "-c", 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done']

log = logging.getLogger(__name__)

ENGINE_HINT = "start Docker (`systemctl start docker` or `dockerd &`; `docker info` must work) or point DOCKER_HOST at one"

_client: DockerClient | None = None
_client_lock = threading.Lock()
_run_id: str | None = None
_run_id_lock = threading.Lock()


def process_run_id() -> str:
    """This process's run id, carried by every container it starts (`dev.patchjury.run`; sweeps can be limited to
    it): what `set_run_id` named, else $PATCHJURY_RUN_ID, else one made on first use (time + random suffix).
    Nothing is made at import."""
    global _run_id
    with _run_id_lock:
        if _run_id is None:
            made = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
            _run_id = os.environ.get("PATCHJURY_RUN_ID") or made
        return _run_id


def set_run_id(value: str | None) -> None:
    """Name this process's run (containers started afterwards carry it); None forgets it."""
    global _run_id
    with _run_id_lock:
        _run_id = value


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
            raise engine_error(exc) from exc
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


def engine_error(exc: BaseException) -> EngineUnavailableError:
    """One line: which engine could not be reached, the short reason, and the fix."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    reason = "not reachable"
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if isinstance(seen, FileNotFoundError) or "FileNotFoundError" in text:
            reason = "no such socket: the engine is not running"
            break
        if isinstance(seen, PermissionError) or "Permission denied" in text:
            reason = "permission denied: add your user to the `docker` group or run as root"
            break
        if isinstance(seen, ConnectionRefusedError) or "Connection refused" in text:
            reason = "connection refused: the engine is not running"
            break
        seen = seen.__cause__ or seen.__context__
    return EngineUnavailableError(f"cannot reach the Docker engine at {host} ({reason}); {ENGINE_HINT}")


def image_exists(tag: str) -> bool:
    """Whether the engine holds image `tag`: the one such check in envs (bootstrap, env images, official images).
    EngineUnavailableError when the engine is down; a malformed reference cannot exist (False)."""
    from docker.errors import APIError, ImageNotFound

    try:
        docker_client().images.get(tag)
    except ImageNotFound:
        return False
    except APIError as exc:
        if exc.is_client_error():
            return False
        raise
    return True


def no_socket_timeout(sock: Any) -> None:
    """Let a hijacked exec socket block forever (our own timeouts apply instead of the client's 120 s)."""
    for s in (sock, getattr(sock, "_sock", None)):
        if s is not None and hasattr(s, "settimeout"):
            s.settimeout(None)


def managed_labels(
    kind: str, run_id: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Labels every patchjury container carries."""
    return {
        **(extra or {}),
        LABEL_MANAGED: "1",
        LABEL_KIND: kind,
        LABEL_RUN: run_id or process_run_id(),
        LABEL_CREATED: f"{time.time():.3f}",
        LABEL_OWNER: cleanup.owner_id(),
    }


def register(container_id: str, client: DockerClient) -> None:
    """Track a container so it is removed if the process exits (normally, Ctrl-C or SIGTERM)."""
    cleanup.register(container_id, lambda: remove_container(client, container_id))


def unregister(container_id: str) -> None:
    cleanup.unregister(container_id)


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


def cleanup_all() -> int:
    """Remove every container (and temporary checkout) this process started and has not closed."""
    return cleanup.cleanup_all()


def sweep_containers(
    older_than_s: float | None = None, run_id: str | None = None, client: Any = None
) -> list[str]:
    """Remove patchjury containers left by crashed runs; returns the removed ids.

    Removed: containers whose owning process is gone (owners made under this host key only, see
    envs.cleanup: another machine's containers on a shared engine are never removed for that), plus, when `older_than_s` is given,
    any patchjury container at least that many seconds old (0 = all). `run_id` restricts the sweep to
    one run. Containers this process still uses are never removed. The first `docker_client()` of every
    process calls this once (start-up sweep), so every front door sweeps before it starts containers.
    """
    client = client or docker_client()
    filters = [f"{LABEL_MANAGED}=1"] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])
    now = time.time()
    removed = []
    live = cleanup.live_keys()
    for info in client.api.containers(all=True, filters={"label": filters}):
        cid = info["Id"]
        if cid in live:
            continue
        labels = info.get("Labels") or {}
        try:
            created = float(labels.get(LABEL_CREATED, info.get("Created", now)))
        except ValueError:
            created = float(info.get("Created", now))
        old = older_than_s is not None and now - created >= older_than_s
        if old or cleanup.owner_dead(labels.get(LABEL_OWNER, "")):
            remove_container(client, cid)
            removed.append(cid)
    return removed

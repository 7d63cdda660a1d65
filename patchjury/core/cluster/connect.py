"""Connect to a Ray cluster and check, before any work starts, that it can run the work.

Checks, each failing with one line that names the problem and the fix:
- the address answers (a plain HOST:PORT is tried with a TCP connect first, so a typo fails in seconds);
- some live node offers the slot resource (`patchjury_slots`: one per trajectory worker, nodes with Docker);
- every such node imports this patchjury version and reaches a Docker engine;
- with an image registry, every such node can push to it (a tiny probe image).
While the run goes on, `Cluster.check()` stops it when no node with slots has been alive for a while, and
`Cluster.cancel()` (Ctrl-C) cancels every task in flight and removes the run's containers on every node.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from patchjury.core.cluster.bundles import Bundles
from patchjury.core.cluster.config import RayConfig
from patchjury.core.cluster.errors import (
    ClusterError,
    ClusterUnavailableError,
    RayMissingError,
    RegistryError,
)

log = logging.getLogger(__name__)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise RayMissingError(
            f"--ray needs Ray, which is not installed ({exc}); install it with `pip install 'patchjury[ray]'`"
        ) from exc
    return ray


def _tcp_check(address: str, timeout: float) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ClusterUnavailableError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one (`ray start --head "
            f"--port={port}`) or pass the head's address to --ray"
        ) from exc


def probe_node(slot_resource: str, registry: str | None, run_id: str) -> dict[str, Any]:
    """Runs on one node: can it run patchjury's containers (and push to the registry)?"""
    import patchjury
    from patchjury.core.cluster.node import node_identity

    out: dict[str, Any] = {**node_identity(), "version": getattr(patchjury, "__version__", "?"), "docker": ""}
    from patchjury.envs.errors import EngineUnavailableError
    from patchjury.envs.sweep import docker_client

    try:
        out["docker"] = docker_client().version().get("Version", "?")
    except EngineUnavailableError as exc:
        out["error"] = f"no Docker engine ({str(exc).split(';')[0]})"
        return out
    if registry:
        from patchjury.core.cluster.registry import probe_push

        why = probe_push(registry, run_id)
        if why:
            out["registry_error"] = why
    return out


def sweep_node(run_id: str) -> int:
    """Runs on one node: remove every container of run `run_id` there."""
    from patchjury.envs.sweep import sweep_containers

    return len(sweep_containers(older_than_s=0, run_id=run_id))


class Cluster:
    """A connected cluster plus the run's bookkeeping (tasks in flight, bundles, run id)."""

    def __init__(self, config: RayConfig, nodes: list[dict[str, Any]], run_id: str) -> None:
        self.config = config
        self.nodes = nodes
        self.run_id = run_id
        self.bundles = Bundles()
        self.failure: str | None = None
        self._inflight: set[Any] = set()
        self._lock = threading.Lock()
        self._no_nodes_since: float | None = None
        self._last_look = 0.0

    @property
    def slots(self) -> int:
        return int(sum(n["slots"] for n in self.nodes))

    def track(self, ref: Any) -> None:
        with self._lock:
            self._inflight.add(ref)

    def untrack(self, ref: Any) -> None:
        with self._lock:
            self._inflight.discard(ref)

    def live_slots(self) -> float:
        import ray

        return sum(n["Resources"].get(self.config.slot_resource, 0.0) for n in ray.nodes() if n.get("Alive"))

    def check(self) -> None:
        """Raise ClusterError when the run was cancelled or no node with slots is left (after a grace time)."""
        if self.failure:
            raise ClusterError(self.failure)
        now = time.monotonic()
        if now - self._last_look < 2.0:
            return
        self._last_look = now
        if self.live_slots() > 0:
            self._no_nodes_since = None
            return
        self._no_nodes_since = self._no_nodes_since or now
        if now - self._no_nodes_since > self.config.no_node_timeout_s:
            self.failure = (
                f"no live node offers {self.config.slot_resource} since {self.config.no_node_timeout_s:.0f}s; "
                "the run stops here (rerun to resume from the checkpoints)"
            )
            self.cancel(self.failure)
            raise ClusterError(self.failure)

    def cancel(self, why: str = "cancelled (Ctrl-C)") -> None:
        """Cancel every task in flight, then remove the run's containers on every live node."""
        import ray

        self.failure = self.failure or why
        with self._lock:
            refs = list(self._inflight)
        for ref in refs:
            try:
                ray.cancel(ref)
            except (ray.exceptions.RayError, TypeError, ValueError) as exc:
                log.debug("cancel %s: %s", ref, exc)
        self.sweep()

    def sweep(self, timeout: float = 60.0) -> int:
        """Remove this run's containers on every live node (best effort; returns how many)."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        task = ray.remote(num_cpus=0, max_retries=0)(sweep_node)
        refs = [
            task.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(
                self.run_id
            )
            for n in ray.nodes()
            if n.get("Alive") and n["Resources"].get(self.config.slot_resource)
        ]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        removed = 0
        for ref in done:
            try:
                removed += int(ray.get(ref))
            except ray.exceptions.RayError as exc:
                log.warning("could not sweep a node: %s", exc)
        return removed

    def close(self) -> None:
        import ray

        self.failure = self.failure or "the run's connection to the cluster is closed"
        ray.shutdown()


def _env_vars(extra: dict[str, str]) -> dict[str, str]:
    keep = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}
    return {k: v for k, v in keep.items() if v}


def connect(config: RayConfig, env_vars: dict[str, str] | None = None) -> Cluster:
    """Connect and run the start-up checks; `env_vars` (e.g. API keys) reach every task of the run."""
    ray = _import_ray()
    # never start a private local cluster behind the user's back (Ray does on a remote call after shutdown)
    os.environ["RAY_ENABLE_AUTO_CONNECT"] = "0"
    address = config.address
    if address != "auto":
        _tcp_check(address, config.connect_timeout_s)
    run_id = f"ray-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    try:
        ray.init(
            address=address,
            runtime_env={"env_vars": {**_env_vars(env_vars or {}), "PATCHJURY_RUN_ID": run_id}},
            logging_level=logging.WARNING,
            log_to_driver=False,
            configure_logging=False,
            namespace="patchjury",
        )
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
        where = "on this machine (or $RAY_ADDRESS)" if address == "auto" else f"at {address}"
        raise ClusterUnavailableError(
            f"cannot connect to a Ray cluster {where}: {str(exc).splitlines()[0][:200]}; start one with "
            "`ray start --head` or pass its address to --ray"
        ) from exc
    try:
        nodes = _check_nodes(ray, config, run_id)
    except BaseException:
        ray.shutdown()
        raise
    return Cluster(config, nodes, run_id)


def _driver_version() -> str:
    import patchjury

    return str(getattr(patchjury, "__version__", "?"))


def _check_nodes(ray: Any, config: RayConfig, run_id: str) -> list[dict[str, Any]]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    res = config.slot_resource
    with_slots = [n for n in ray.nodes() if n.get("Alive") and n["Resources"].get(res, 0) > 0]
    if not with_slots:
        raise ClusterError(
            f"no node of the Ray cluster offers the `{res}` resource (one per trajectory worker, on nodes with "
            f"Docker): start them with `ray start --address=HEAD:PORT --resources='{{\"{res}\": 4}}'`"
        )
    probe = ray.remote(num_cpus=0, max_retries=0)(probe_node)
    refs = {
        n["NodeID"]: probe.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(res, config.image_registry, run_id)
        for n in with_slots
    }
    done, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=config.probe_timeout_s)
    problems, nodes = [], []
    for n in with_slots:
        where = f"node {n.get('NodeManagerAddress', '?')} ({n['NodeID'][:8]})"
        ref = refs[n["NodeID"]]
        if ref not in done:
            problems.append(f"{where} did not answer within {config.probe_timeout_s:.0f}s")
            continue
        try:
            info = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = str(exc.cause if getattr(exc, "cause", None) else exc).splitlines()[-1][:200]
            problems.append(f"{where} cannot run patchjury ({cause}): install the same patchjury there")
            continue
        except ray.exceptions.RayError as exc:
            problems.append(f"{where} failed the check ({str(exc).splitlines()[0][:200]})")
            continue
        if info.get("version") != _driver_version():
            problems.append(
                f"{where} runs patchjury {info.get('version', '?')}, this driver {_driver_version()}: install the "
                "same patchjury version there"
            )
        elif info.get("error"):
            problems.append(
                f"{where} offers {res} but has {info['error']}: start Docker there or drop {res} from that node"
            )
        elif info.get("registry_error"):
            raise RegistryError(info["registry_error"])
        nodes.append({**info, "slots": n["Resources"][res], "address": n.get("NodeManagerAddress", "")})
    if problems:
        raise ClusterError("; ".join(problems))
    return nodes


KEY_SUFFIXES = ("_API_KEY", "_API_BASE", "_API_VERSION")


def key_env(models: list[Any]) -> dict[str, str]:
    """Provider settings the models may need, from this process's environment (they travel with the job):
    each model's `api_key_env` and every `*_API_KEY`, `*_API_BASE`, `*_API_VERSION` variable."""
    names = {m.api_key_env for m in models if getattr(m, "api_key_env", None)}
    names |= {k for k in os.environ if k.endswith(KEY_SUFFIXES)}
    return {k: os.environ[k] for k in sorted(names) if os.environ.get(k)}

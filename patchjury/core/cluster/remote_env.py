"""The jury's containers on the cluster: an Env whose container lives on a node, behind a Ray actor.

selection runs unchanged on the driver (verifier, static checks, the decision rule); every Env it leases for the
pass matrix and the regression signal is a `RemoteEnv` holding one slot on some node, so a matrix's subject
rows (one cell group each: all tests on one candidate) run on as many nodes as the pool has Envs. A node that dies
under an Env turns into NodeLostError (an EnvError), which selection reports as an execution failure; the caller
reruns the jury with fresh Envs (cells are independent and idempotent, nothing is lost).

A jury's slots are reserved together (`JurySlots`, a Ray placement group spread over nodes): two juries each
holding one slot and waiting for a second could otherwise wait for each other forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from patchjury.core.cluster.errors import NodeLostError
from patchjury.core.cluster.node import NodeEnvSpec
from patchjury.envs.errors import EnvError
from patchjury.envs.protocol import ExecResult

if TYPE_CHECKING:
    from patchjury.core.cluster.connect import Cluster


class EnvHost:
    """Actor body: one container on this node (the image is built, reused or pulled here first)."""

    def __init__(self, spec: NodeEnvSpec) -> None:
        from patchjury.core.cluster.node import prepare
        from patchjury.envs.registry import make_env

        config, self.image = prepare(spec)
        self.env = make_env(config)

    def workdir(self) -> str:
        return str(self.env.workdir)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.env, method)(*args, **kwargs)

    def close(self) -> None:
        self.env.close()


_ACTOR: Any = None


def _actor_class() -> Any:
    global _ACTOR
    if _ACTOR is None:
        import ray

        _ACTOR = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(EnvHost)
    return _ACTOR


class RemoteEnv:
    """The Env protocol over an EnvHost actor (blocking calls; errors come back as the node raised them)."""

    def __init__(self, spec: NodeEnvSpec, cluster: Cluster, group: Any = None, bundle: int = 0) -> None:
        """An Env on some node with a free slot (in bundle `bundle` of placement group `group` when given)."""
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        cluster.check()
        options: dict[str, Any] = {"resources": {cluster.config.slot_resource: 1}}
        if group is not None:
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                group, placement_group_bundle_index=bundle
            )
        self._actor = _actor_class().options(**options).remote(spec)
        self._closed = False
        self.workdir = self._get(self._actor.workdir.remote())

    def _get(self, ref: Any) -> Any:
        import ray

        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else None
            if isinstance(cause, EnvError):
                raise cause from None
            raise NodeLostError(f"the jury's environment failed on its node: {exc}") from exc
        except ray.exceptions.RayError as exc:
            raise NodeLostError(
                f"the node running this environment died or left the cluster ({str(exc).splitlines()[0][:200]})"
            ) from exc

    def execute(self, command: str, timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        result: ExecResult = self._get(self._actor.call.remote("execute", command, timeout=timeout, cwd=cwd))
        return result

    def read_file(self, path: str) -> str:
        return str(self._get(self._actor.call.remote("read_file", path)))

    def write_file(self, path: str, content: str) -> None:
        self._get(self._actor.call.remote("write_file", path, content))

    def diff(self, exclude: Sequence[str] = ()) -> str:
        return str(self._get(self._actor.call.remote("diff", list(exclude))))

    def reset(self) -> None:
        self._get(self._actor.call.remote("reset"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        import ray

        try:
            self._get(self._actor.close.remote())
        except EnvError:
            pass  # the node is gone, and its container with it (or swept at the end of the run)
        finally:
            ray.kill(self._actor)


class JurySlots:
    """`size` slots reserved at once for one jury (fewer when the cluster has fewer); `factory()` makes Envs in
    them, round robin. Use as a context manager: the slots are released on exit."""

    def __init__(self, spec: NodeEnvSpec, cluster: Cluster, size: int) -> None:
        self.spec, self.cluster = spec, cluster
        self.size = max(1, min(size, int(cluster.live_slots()) or 1))
        self._made = 0
        self.group: Any = None

    def __enter__(self) -> JurySlots:
        import ray
        from ray.util.placement_group import placement_group

        res = self.cluster.config.slot_resource
        self.group = placement_group([{res: 1}] * self.size, strategy="SPREAD")
        while not ray.wait([self.group.ready()], timeout=2.0)[0]:
            self.cluster.check()  # cancelled, or no node left: stop waiting
        return self

    def factory(self) -> RemoteEnv:
        bundle = self._made % self.size
        self._made += 1
        return RemoteEnv(self.spec, self.cluster, self.group, bundle)

    def __exit__(self, *exc: object) -> None:
        from ray.util.placement_group import remove_placement_group

        if self.group is not None:
            remove_placement_group(self.group)

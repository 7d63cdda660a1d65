"""`solve --ray`: the trajectories of one issue in a local repository, and its jury's containers, on a Ray cluster.

The repository travels as a bundle of its last commit (the one `solve` uses); each node builds the `--setup`
environment image itself (or pulls it from the registry), as plan_local_repo does on one machine. The run
directory, report and branch stay on this machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from patchjury.core.cluster.backend import ClusterPlan, RayBackend, cluster_plan
from patchjury.core.cluster.connect import connect, key_env
from patchjury.core.cluster.node import NodeEnvSpec
from patchjury.core.errors import UsageError
from patchjury.core.settings import Settings


@contextmanager
def repo_on_cluster(
    settings: Settings, repo: Path, commit: str, labels: Mapping[str, str]
) -> Iterator[tuple[ClusterPlan, RayBackend]]:
    """Connect (checked before any work), bundle the repository; on Ctrl-C cancel the cluster work."""
    if settings.ray is None:
        raise UsageError("repo_on_cluster needs settings.ray (--ray ADDRESS)")
    if settings.env.type == "local":
        raise UsageError("--ray runs every sandbox in Docker on the cluster's nodes: drop env.type=local")
    cluster = connect(settings.ray, key_env(settings.model_list()))
    try:
        spec = NodeEnvSpec(
            kind="repo",
            env=settings.env,
            labels=dict(labels),
            repo=cluster.bundles.get(repo, commit, repo.name),
            registry=settings.ray.image_registry,
            run_id=cluster.run_id,
        )
        yield cluster_plan(spec, cluster), RayBackend(spec, cluster)
    except BaseException:
        cluster.cancel("the run stopped")
        raise
    finally:
        cluster.close()

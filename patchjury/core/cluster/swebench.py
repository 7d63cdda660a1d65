"""`swebench run --ray`: every instance's trajectories and jury on a Ray cluster; the driver writes the same files
as a local run (core.swebench_run), so a run can be resumed with or without the cluster.

    summary = run_swebench_ray(cfg, settings)          # settings.ray: the cluster and its registry

The driver needs the repositories (the repo cache) to make the bundles and to run the static checks; it needs no
Docker engine. Failures stay per instance (an image a node cannot build, a registry that refuses a push, a
trajectory that lost its node too often) and are recorded in that instance's result.json, as locally.
"""

from __future__ import annotations

from typing import Any

from patchjury.core.cluster.backend import RayBackend, cluster_plan
from patchjury.core.cluster.connect import Cluster, connect, key_env
from patchjury.core.cluster.node import NodeEnvSpec
from patchjury.core.errors import UsageError
from patchjury.core.settings import Settings
from patchjury.core.swebench_run import BackendFor, SWERunConfig, run_swebench
from patchjury.envs.plan import LABEL_INSTANCE, require_docker
from patchjury.envs.swebench.instances import SWEInstance
from patchjury.report.swebench import RunSummary

GOLD: dict[str, Any] = {
    "patch": "",
    "test_patch": "",
    "FAIL_TO_PASS": [],
    "PASS_TO_PASS": [],
    "eval_script": None,
}


def instance_spec(inst: SWEInstance, cfg: SWERunConfig, settings: Settings, cluster: Cluster) -> NodeEnvSpec:
    """What a node needs for `inst`: the recipe resolved and the repository bundled here; no gold field travels."""
    from patchjury.envs.swebench.recipes import get_recipe
    from patchjury.envs.swebench.repos import resolve_repo

    require_docker(settings.env)
    recipe = None
    try:
        recipe = get_recipe(inst.repo, inst.version, cfg.recipes)
    except LookupError:
        if not cfg.use_official_image:
            raise
    bundle = None
    if not cfg.use_official_image:
        repo = resolve_repo(inst.repo, inst.base_commit, cfg.repo_cache, allow_clone=cfg.allow_clone)
        bundle = cluster.bundles.get(repo, inst.base_commit, inst.repo.replace("/", "__"))
    return NodeEnvSpec(
        kind="swebench",
        env=settings.env,
        labels={LABEL_INSTANCE: inst.instance_id[:200], "dev.patchjury.front": "swebench-run"},
        repo=bundle,
        registry=cluster.config.image_registry,
        run_id=cluster.run_id,
        instance=inst.model_copy(update=GOLD),
        recipe=recipe,
        official=cfg.use_official_image,
    )


def swebench_backend(cluster: Cluster, cfg: SWERunConfig, settings: Settings) -> BackendFor:
    def backend_for(inst: SWEInstance) -> tuple[Any, RayBackend]:
        spec = instance_spec(inst, cfg, settings, cluster)
        return cluster_plan(spec, cluster), RayBackend(spec, cluster)

    return backend_for


def run_swebench_ray(cfg: SWERunConfig, settings: Settings, progress: bool = True) -> RunSummary:
    """core.swebench_run.run_swebench with every instance on the cluster `settings.ray` names (checked, with one
    error line, before any work starts)."""
    if settings.ray is None:
        raise UsageError("run_swebench_ray needs settings.ray (--ray ADDRESS)")
    cluster = connect(settings.ray, key_env(settings.model_list()))
    try:
        return run_swebench(
            cfg,
            settings,
            progress,
            backend_for=swebench_backend(cluster, cfg, settings),
            on_interrupt=cluster.cancel,
        )
    finally:
        cluster.close()

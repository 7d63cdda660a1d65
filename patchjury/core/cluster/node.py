"""What runs on a cluster node before a trajectory or a jury container starts: the repository (from a git bundle
in the object store), the environment image (built or reused by content hash, or pulled from a registry), and
the container's DockerEnvConfig. Nothing here assumes a filesystem shared with the driver.

Node-local state lives under $PATCHJURY_NODE_CACHE (default ~/.cache/patchjury/node): repository mirrors (shallow,
one commit per instance), build logs and scratch run directories. Work that two Ray workers of one node could
do at once (fetching a repository, bootstrapping a base image, building an env image) takes a file lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from patchjury.core.cluster.errors import RegistryPushError
from patchjury.core.cluster.registry import pull, push_image, registry_ref
from patchjury.envs.config import DockerEnvConfig
from patchjury.envs.errors import ImageBuildError
from patchjury.envs.plan import EnvSettings

log = logging.getLogger(__name__)

CACHE_ENV = "PATCHJURY_NODE_CACHE"


def node_cache() -> Path:
    root = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "patchjury" / "node")
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def node_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by every process of this node (a flock on a file in the node cache)."""
    path = node_cache() / "locks" / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)[:150]}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def scratch_dir(prefix: str) -> Path:
    root = node_cache() / "scratch"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


@dataclass(frozen=True)
class RepoBundle:
    """One commit of a repository, as a git bundle in Ray's object store (see cluster.bundles)."""

    name: str
    """Mirror name on the node (`owner__name`)."""
    commit: str
    """Full sha the bundle holds (depth 1: the tree at that commit, the same commit id)."""
    ref: list[Any]
    """[ObjectRef of the bundle bytes] (or [bytes]), nested so a node fetches the bytes only when it lacks the
    commit (Ray resolves top-level ObjectRef arguments before a task starts, nested ones on demand)."""
    size: int
    """Bytes of the bundle."""


def _git(*args: str, cwd: Path | None = None, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout
    )


def _has_commit(repo: Path, sha: str) -> bool:
    return _git("cat-file", "-e", f"{sha}^{{commit}}", cwd=repo).returncode == 0


def ensure_repo(bundle: RepoBundle) -> Path:
    """The node's bare mirror of `bundle.name` holding `bundle.commit` (fetched from the object store once)."""
    root = node_cache() / "repos"
    path = root / bundle.name
    with node_lock(f"repo-{bundle.name}"):
        if not (path / "HEAD").exists():
            path.mkdir(parents=True, exist_ok=True)
            init = _git("init", "-q", "--bare", str(path))
            if init.returncode != 0:
                raise ImageBuildError(f"cannot create the repository mirror {path}: {init.stderr.strip()}")
        if _has_commit(path, bundle.commit):
            return path
        data = bundle.ref[0]
        if not isinstance(data, bytes):  # an ObjectRef (bytes when the caller holds them already)
            import ray

            data = ray.get(data)
        with tempfile.NamedTemporaryFile(suffix=".bundle", dir=root) as tmp:
            tmp.write(data)
            tmp.flush()
            # depth 1: the commit's parents are absent; declare it a shallow boundary before fetching it
            shallow = path / "shallow"
            known = set(shallow.read_text().split()) if shallow.exists() else set()
            shallow.write_text("".join(f"{s}\n" for s in sorted(known | {bundle.commit})))
            got = _git(
                "fetch", "-q", tmp.name, f"+refs/heads/*:refs/patchjury/{bundle.commit[:12]}/*", cwd=path
            )
        if got.returncode != 0 or not _has_commit(path, bundle.commit):
            raise ImageBuildError(
                f"cannot unpack the repository bundle of {bundle.name}@{bundle.commit[:12]} on this node: "
                f"{got.stderr.strip()[-400:]}"
            )
        return path


# ---------------------------------------------------------------- environment images on a node


@dataclass
class NodeEnvSpec:
    """Everything a node needs to start containers for one task (pickled into each Ray task)."""

    kind: Literal["swebench", "repo"]
    env: EnvSettings
    """Container limits and network, the base image and setup of a local repository (the `env:` settings)."""
    labels: dict[str, str] = field(default_factory=dict)
    repo: RepoBundle | None = None
    """The repository (None for official SWE-bench images, which contain it)."""
    registry: str | None = None
    """`HOST[:PORT]/PREFIX` to pull env images from before building and push them to after building."""
    run_id: str = ""
    """Label of every container of the run (swept on every node after Ctrl-C)."""
    instance: Any = None
    """kind="swebench": envs.swebench.instances.SWEInstance without its gold fields."""
    recipe: Any = None
    """kind="swebench": the envs.swebench.recipes.Recipe resolved on the driver (None with official images)."""
    official: bool = False
    """kind="swebench": use the instance's official image."""


@dataclass
class NodeImage:
    tag: str
    seconds: float
    source: str
    """`built` (or reused from this node's cache), `pulled` (registry or official), `base` (no env image)."""
    warning: str = ""
    """Why the image did not reach the registry (`--image-registry` refused the push after the build): the
    image is used on this node anyway, and the driver records the line for the instance."""


def _with_registry(registry: str | None, name: str, key: str, build: Any) -> NodeImage:
    """Pull `registry/...:key` if present, else build and push it."""
    start = time.monotonic()
    ref = registry_ref(registry, name, key) if registry else ""
    if ref and pull(ref):
        return NodeImage(ref, time.monotonic() - start, "pulled")
    tag = build()
    warning = ""
    if ref:
        try:
            push_image(tag, ref)
        except (
            RegistryPushError
        ) as exc:  # mid-run: the image works here; failing the trajectory would waste it
            warning = f"image not shared: {exc}"
            log.warning("%s", warning)
    return NodeImage(tag, time.monotonic() - start, "built", warning)


def _base(image: str | None, suite: str) -> str:
    from patchjury.envs.images import ensure_base_image

    with node_lock(f"base-{image or suite}"):
        return ensure_base_image(image, suite)


def _swebench_image(spec: NodeEnvSpec) -> NodeImage:
    from patchjury.envs.bootstrap import base_tag
    from patchjury.envs.images import image_key
    from patchjury.envs.swebench.build import WORKDIR, build_local_image, pull_official_image

    inst = spec.instance
    if spec.official:
        start = time.monotonic()
        with node_lock(f"pull-{inst.image}"):
            return NodeImage(pull_official_image(inst), time.monotonic() - start, "pulled")
    recipe = spec.recipe
    base_name = recipe.base_image or base_tag(recipe.suite)
    key = image_key(base_name, inst.base_commit, recipe.setup_commands(), recipe.resolved_env(), WORKDIR)

    def build() -> str:
        assert spec.repo is not None
        repo = ensure_repo(spec.repo)
        _base(recipe.base_image, recipe.suite)
        log = node_cache() / "build-logs" / f"{inst.instance_id}.log"
        with node_lock(f"env-{key[:24]}"):
            return build_local_image(inst, recipe, repo, log)

    return _with_registry(spec.registry, inst.repo.replace("/", "__"), key, build)


def _repo_image(spec: NodeEnvSpec) -> tuple[NodeImage, Path | None]:
    """(image, node path of the repository when the container copies it in at start), as
    envs.plan.prepare_repo_image makes them on a single machine."""
    from patchjury.envs.bootstrap import base_tag
    from patchjury.envs.images import build_env_image, image_key
    from patchjury.envs.plan import INSTANCE_WORKDIR

    assert spec.repo is not None
    start = time.monotonic()
    env = spec.env
    if not env.setup:
        base = _base(env.image, "bookworm")
        return NodeImage(base, time.monotonic() - start, "base"), ensure_repo(spec.repo)
    key = image_key(env.image or base_tag("bookworm"), spec.repo.commit, [env.setup], {}, INSTANCE_WORKDIR)

    def build() -> str:
        assert spec.repo is not None
        repo = ensure_repo(spec.repo)
        base = _base(env.image, "bookworm")
        with node_lock(f"env-{key[:24]}"):
            return build_env_image(base, repo, spec.repo.commit, [env.setup], workdir=INSTANCE_WORKDIR)

    return _with_registry(spec.registry, spec.repo.name, key, build), None


def prepare(spec: NodeEnvSpec) -> tuple[DockerEnvConfig, NodeImage]:
    """The container config for this node (image built, reused or pulled here) and how the image was obtained:
    the same config envs.plan gives on a single machine."""
    from patchjury.envs.plan import instance_env_config, repo_env_config

    if spec.kind == "swebench":
        from patchjury.envs.swebench.build import InstanceImage

        image = _swebench_image(spec)
        got = InstanceImage(image.tag, spec.official, spec.recipe, image.seconds)
        config = instance_env_config(got, spec.env, spec.labels)
    else:
        assert spec.repo is not None
        image, source = _repo_image(spec)
        config = repo_env_config(spec.env, image.tag, source, spec.repo.commit, spec.labels)
    return config.model_copy(update={"run_id": spec.run_id or None}), image


def node_identity() -> dict[str, str]:
    """Where this code runs (for progress and error messages)."""
    import socket

    import ray

    return {"node_id": ray.get_runtime_context().get_node_id(), "host": socket.gethostname()}

"""One place plans environments: which backend, image and container settings a task's Envs get.

Every front door asks here and gets an `EnvPlan`, whose `new_env` is the one factory type (`EnvFactory`: a
callable returning a fresh Env):

    plan_local_repo(settings, repo, commit)        solve, demo, `select --repo`
    plan_swebench_instance(instance, settings, src) `swebench run`, `select --instances`, collect scripts
    instance_env_config(image, settings)           the same container config, for grading (`swebench eval`)

Network, decided here once:
- a local repository: `settings.network` (the user's sandbox policy; off by default). There is no recipe.
- a SWE-bench instance: on when its recipe says the instance's tests need the internet, or when the user grants
  it with `settings.network`. The recipe's word must reach every container of the instance (trajectories, the
  jury's test runs, grading): otherwise the jury measures tests in a different environment than the one they are
  graded in. Grading passes settings with `network=False`, so it follows the recipe alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from patchjury.envs.config import DockerEnvConfig, EnvConfig, LocalEnvConfig
from patchjury.envs.errors import EngineUnavailableError, EnvConfigError, ImageBuildError
from patchjury.envs.protocol import Env

if TYPE_CHECKING:
    from patchjury.envs.swebench.build import InstanceImage
    from patchjury.envs.swebench.instances import SWEInstance
    from patchjury.envs.swebench.source import InstanceSource

#: Repository root inside instance images (as in the official SWE-bench images).
INSTANCE_WORKDIR = "/testbed"
#: Label naming the SWE-bench instance a container serves.
LABEL_INSTANCE = "dev.patchjury.swebench.instance"


class EnvSettings(BaseModel):
    """Where trajectories and the jury's tests run (the `env:` section of the settings file)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["auto", "docker", "local"] = "auto"
    """`docker` (isolated) or `local` (NOT isolated: commands run as you, in a temporary checkout, with an
    environment scrubbed to an allowlist); `auto` = Docker, and an unreachable engine is an error naming the
    fix (start Docker, or ask for `local`): never a silent fallback. SWE-bench instances always use Docker."""
    image: str | None = None
    """Base image for containers of a local repository (any image with bash, git and Python); None = the
    offline-bootstrapped Debian bookworm image (`patchjury images bootstrap`). SWE-bench instances use their own
    instance image."""
    setup: str = ""
    """Command that installs the repository's dependencies (run once into an environment image, with network)."""
    memory: str = "4g"
    """Memory limit per container (docker syntax: 512m, 4g)."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU cores per container."""
    network: bool = False
    """Give agent containers network access (off by default; setup always has it). A SWE-bench instance's
    containers also get it when its recipe asks (its tests need the internet)."""
    default_timeout: float = Field(default=300.0, gt=0)
    """Seconds a command may run when the caller gives no timeout."""
    output_limit: int = Field(default=30_000, ge=0)
    """Characters of command output kept (head + tail); 0 = unlimited."""


@dataclass
class EnvPlan:
    """Which backend and image a task's Envs use; `new_env` makes one (the EnvFactory every caller takes)."""

    config: EnvConfig
    """The config every Env of this plan is started from."""
    description: str
    """One line for people (reports, logs)."""
    warnings: list[str] = field(default_factory=list)
    """Things the user must know (not isolated, setup ignored...)."""

    @property
    def kind(self) -> str:
        """`docker` or `local`."""
        return self.config.type

    def new_env(self) -> Env:
        """Start a fresh Env (close it, or use `with`)."""
        from patchjury.envs.registry import make_env

        return make_env(self.config)


@dataclass(kw_only=True)
class InstancePlan(EnvPlan):
    """The plan of a SWE-bench instance: containers on its instance image."""

    image: InstanceImage
    """The instance image: its tag, recipe, official or local build, and the seconds spent getting it."""


LOCAL_HINT = (
    "patchjury runs model-chosen commands only in Docker sandboxes unless told otherwise: to run them "
    "unsandboxed, as you, pass --env local (config env.type=local)"
)


def docker_reachable() -> tuple[bool, str]:
    """(True, "") when the Docker engine answers, else (False, the reason)."""
    from patchjury.envs.sweep import docker_client

    try:
        docker_client()
    except EngineUnavailableError as exc:
        return False, str(exc)
    return True, ""


def plan_local_repo(
    settings: EnvSettings,
    repo: Path,
    commit: str,
    labels: Mapping[str, str] | None = None,
    *,
    local_fallback: str = "",
) -> EnvPlan:
    """Docker with the repo copied in at `commit` (`auto` and `docker`), or a local checkout (`local` only).

    `auto` never drops the sandbox silently: an unreachable engine, or a base image that cannot be prepared, is
    an error naming both fixes (start Docker; or ask for `--env local`). `local_fallback`, the reason local
    checkouts are acceptable for this caller (the demo: its scripted commands are known), turns that error into
    a warning and a local plan."""
    warnings: list[str] = []
    kind = settings.type
    if kind in ("auto", "docker"):
        ok, why = docker_reachable()
        if not ok:
            if kind == "docker" or not local_fallback:
                raise EngineUnavailableError(f"{why}; {LOCAL_HINT}")
            kind = "local"
            warnings.append(f"Docker is not reachable ({why.split(';')[0]}): {local_fallback}")
    image, repo_inside = "", False
    if kind in ("auto", "docker"):
        try:
            image, repo_inside = prepare_repo_image(settings, repo, commit)
        except ImageBuildError as exc:
            if settings.type == "docker" or settings.setup or not local_fallback:
                raise
            kind = "local"
            warnings.append(
                f"no sandbox image could be prepared ({str(exc).splitlines()[0]}): {local_fallback}"
            )
        else:
            kind = "docker"
    if kind == "local":
        if settings.setup:
            warnings.append(
                "env.setup is ignored with the local backend: commands use your current Python environment"
            )
        local = LocalEnvConfig(
            repo=repo,
            commit=commit,
            use_worktree=False,  # a separate clone: the user's repository gets no worktree entry
            default_timeout=settings.default_timeout,
            output_limit=settings.output_limit,
        )
        return EnvPlan(local, f"local checkout of {commit[:12]} (not isolated)", warnings)
    docker = repo_env_config(settings, image, None if repo_inside else repo, commit, labels)
    return EnvPlan(docker, f"Docker image {image} (repo at {commit[:12]})", warnings)


def repo_env_config(
    settings: EnvSettings, image: str, repo: Path | None, commit: str, labels: Mapping[str, str] | None = None
) -> DockerEnvConfig:
    """A container on `image` for a local repository: `repo` is copied in at `commit` when given (None: the
    image holds the repository already); network and limits from the settings."""
    return DockerEnvConfig(
        image=image,
        source_repo=repo,
        commit=commit if repo is not None else None,
        memory=settings.memory,
        cpus=settings.cpus,
        network=settings.network,
        default_timeout=settings.default_timeout,
        output_limit=settings.output_limit,
        labels=dict(labels or {}),
    )


def prepare_repo_image(settings: EnvSettings, repo: Path, commit: str) -> tuple[str, bool]:
    """(image tag, whether the repo is inside it): the base image as is, or an environment image with the
    repo at `commit` and its dependencies installed by `settings.setup` (cached by content hash)."""
    from patchjury.envs.images import build_env_image, ensure_base_image

    base = ensure_base_image(settings.image)
    if not settings.setup:
        return base, False
    return build_env_image(base, repo, commit, [settings.setup], workdir=INSTANCE_WORKDIR, network=True), True


def require_docker(settings: EnvSettings) -> None:
    """SWE-bench instances run in their own Docker image: refuse `env.type: local` with the fix."""
    if settings.type == "local":
        raise EnvConfigError(
            "SWE-bench instances run in their Docker instance image; env.type=local cannot run them "
            "(use env.type=auto or docker, and start the Docker engine)"
        )


def instance_env_config(
    image: InstanceImage, settings: EnvSettings, labels: Mapping[str, str] | None = None
) -> DockerEnvConfig:
    """A container on an instance image at /testbed: the recipe's environment variables for local builds,
    network when the recipe or the settings ask (see the module docstring), limits from the settings."""
    recipe = image.recipe
    return DockerEnvConfig(
        image=image.tag,
        workdir=INSTANCE_WORKDIR,
        network=settings.network or bool(recipe is not None and recipe.network),
        env=recipe.resolved_env() if recipe is not None and not image.official else {},
        memory=settings.memory,
        cpus=settings.cpus,
        default_timeout=settings.default_timeout,
        output_limit=settings.output_limit,
        labels=dict(labels or {}),
    )


def plan_swebench_instance(
    instance: SWEInstance,
    settings: EnvSettings,
    source: InstanceSource,
    labels: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> InstancePlan:
    """Get (pull or build, cached) the instance's image and plan containers on it.

    Raises RecipeMissing, RepoCacheError or ImageBuildError (EnvErrors, with the reason) when impossible."""
    from patchjury.envs.swebench.build import prepare_instance_image

    require_docker(settings)
    image = prepare_instance_image(
        instance,
        use_official_image=source.use_official_image,
        recipes_path=source.recipes,
        repo_cache=source.repo_cache,
        allow_clone=source.allow_clone,
        log_dir=log_dir,
    )
    kind = "official image" if image.official else "image built from its recipe"
    labels = {LABEL_INSTANCE: instance.instance_id[:200], **(labels or {})}
    return InstancePlan(
        config=instance_env_config(image, settings, labels),
        description=f"Docker {kind} {image.tag} (repo at {instance.base_commit[:12]})",
        image=image,
    )

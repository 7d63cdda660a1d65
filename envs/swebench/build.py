"""Instance environment images: the official image named in the instance (`docker pull`), or a local build.

Local build: the base image for the recipe's Python (3.9 -> Debian bullseye, 3.11 -> bookworm, bootstrapped
offline by envs.bootstrap), the repository at base_commit copied to /testbed (with its git submodules at their
pinned commits, from the repo cache, when the recipe says `submodules: true`), then the recipe's pre_install
and install commands run with the host CA bundle mounted (so pip reaches the package index). Images are cached
by content hash in envs.images, so a second run reuses them. Failures raise errors carrying the reason and the
path of a log, which the harness records for that instance.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from patchjury.envs.errors import ImageBuildError
from patchjury.envs.gitsource import submodules_at
from patchjury.envs.swebench.errors import RepoCacheError
from patchjury.envs.swebench.instances import SWEInstance
from patchjury.envs.swebench.recipes import Recipe, get_recipe
from patchjury.envs.swebench.repos import resolve_repo
from patchjury.envs.sweep import image_exists

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
WORKDIR = "/testbed"
PULL_TIMEOUT = 3600.0
GITHUB_URL = re.compile(r"github\.com[:/]+([^/\s]+/[^/\s]+?)(?:\.git)?/*$")

_base_lock = threading.Lock()


@dataclass
class InstanceImage:
    """An image ready to grade (or solve) an instance in."""

    tag: str
    """Docker image tag."""
    official: bool
    """True for the official SWE-bench image (conda env `testbed`), False for a local build."""
    recipe: Recipe | None
    """The recipe used (None for official images when no recipe exists)."""
    seconds: float
    """Wall time spent getting the image (near 0 when cached)."""


def pull_official_image(instance: SWEInstance, timeout: float = PULL_TIMEOUT) -> str:
    """`docker pull` the image named by the instance (skipped when present locally)."""
    if not instance.image:
        raise ImageBuildError(
            f"{instance.instance_id}: the instance names no official image (older dataset schema); "
            "drop --use-official-image to build it locally from a recipe"
        )
    if image_exists(instance.image):
        return instance.image
    try:
        run = subprocess.run(
            ["docker", "pull", instance.image],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(f"docker pull {instance.image} timed out after {timeout:.0f}s") from exc
    if run.returncode != 0:
        last = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ImageBuildError(
            f"docker pull {instance.image} failed ({last[0]}); without access to that registry drop "
            "--use-official-image to build the environment locally"
        )
    return instance.image


def base_image_for(recipe: Recipe) -> str:
    """The recipe's explicit base image, else the bootstrapped Debian image with its Python."""
    if recipe.base_image:
        return recipe.base_image
    from patchjury.envs.bootstrap import bootstrap

    with _base_lock:  # two workers must not debootstrap the same suite at once
        return bootstrap(recipe.suite)


def submodule_sources(
    instance: SWEInstance, repo_path: Path, repo_cache: Path | str | None = None, allow_clone: bool = True
) -> dict[str, Path]:
    """Host repositories holding the commits the instance's submodules pin at base_commit (path -> repo),
    found like the instance's own repository (repo cache `owner__name`, else a clone when allowed)."""
    out: dict[str, Path] = {}
    for sub in submodules_at(repo_path, instance.base_commit):
        found = GITHUB_URL.search(sub.url)
        if found is None:
            raise RepoCacheError(
                f"{instance.instance_id}: submodule {sub.path} comes from {sub.url!r}, not a GitHub URL the repo "
                "cache can stand for; build from a recipe without `submodules: true`, or add the files in setup"
            )
        try:
            out[sub.path] = resolve_repo(found.group(1), sub.sha, repo_cache, allow_clone=allow_clone)
        except RepoCacheError as exc:
            raise RepoCacheError(
                f"{instance.instance_id}: submodule {sub.path} ({found.group(1)} @ {sub.sha[:12]}): {exc}"
            ) from exc
    return out


def build_local_image(
    instance: SWEInstance,
    recipe: Recipe,
    repo_path: Path,
    log_path: Path | None = None,
    ca_bundle: Path | None = CA_BUNDLE,
    repo_cache: Path | str | None = None,
    allow_clone: bool = True,
) -> str:
    """Build (or reuse) the environment image for `instance` from `recipe`; returns its tag. With
    `recipe.submodules` the submodules' repositories are looked up in `repo_cache` like the instance's."""
    from patchjury.envs.images import build_env_image

    base = base_image_for(recipe)
    bundle = ca_bundle if ca_bundle is not None and ca_bundle.is_file() else None
    subs = submodule_sources(instance, repo_path, repo_cache, allow_clone) if recipe.submodules else {}
    try:
        return build_env_image(
            base,
            repo_path,
            instance.base_commit,
            recipe.setup_commands(),
            workdir=WORKDIR,
            env=recipe.resolved_env(),
            ca_bundle=bundle,
            network=True,
            name=instance.repo.replace("/", "__"),
            submodules=subs,
        )
    except ImageBuildError as exc:
        where = ""
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_path.write_text(
                f"instance: {instance.instance_id}\nrepo: {instance.repo} @ {instance.base_commit}\n"
                f"base image: {base}\nsetup:\n"
                + "".join(f"  {c}\n" for c in recipe.setup_commands())
                + f"\nerror:\n{exc}\n"
            )
            where = f"; log: {log_path}"
        raise ImageBuildError(
            f"building the environment of {instance.instance_id} failed: {exc}{where}"
        ) from exc


def prepare_instance_image(
    instance: SWEInstance,
    use_official_image: bool = False,
    recipes_path: Path | None = None,
    repo_cache: Path | str | None = None,
    allow_clone: bool = True,
    log_dir: Path | None = None,
) -> InstanceImage:
    """Get the image for `instance`: pulled official image, or a local build from its recipe.

    Raises RecipeMissing, RepoCacheError or ImageBuildError (all with the reason) when that is impossible.
    """
    from patchjury.envs.sweep import docker_client

    docker_client()  # an unreachable engine is one clear error, before any build or pull
    start = time.monotonic()
    if use_official_image:
        tag = pull_official_image(instance)
        try:
            recipe: Recipe | None = get_recipe(instance.repo, instance.version, recipes_path)
        except LookupError:
            recipe = (
                None  # the official image needs no recipe; test_cmd/log_parser then come from the instance
            )
        return InstanceImage(tag, True, recipe, time.monotonic() - start)
    recipe = get_recipe(instance.repo, instance.version, recipes_path)
    repo_path = resolve_repo(instance.repo, instance.base_commit, repo_cache, allow_clone=allow_clone)
    log_path = log_dir / "build.log" if log_dir is not None else None
    tag = build_local_image(
        instance, recipe, repo_path, log_path, repo_cache=repo_cache, allow_clone=allow_clone
    )
    return InstanceImage(tag, False, recipe, time.monotonic() - start)

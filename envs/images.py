"""Environment images: a base image + the repository at a commit + its dependencies, cached by content hash.

`build_env_image` tags its result with a hash of everything that shapes it (base image id, repo commit, setup
commands, env, workdir, recipe version), so it rebuilds only when an input changes; containers then start from
it in well under a second. Setup commands run with the host CA bundle mounted read-only (pip behind
TLS-inspecting proxies) and network on; the final image contains neither the bundle nor the build env vars.
If setup changes tracked files, those changes are committed in the image ("patchjury env setup"), so the
Env's base commit is the prepared tree and agents' diffs never include them. The build itself (one throwaway
container) is envs.image_build's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from patchjury.envs.bootstrap import bootstrap
from patchjury.envs.errors import ImageBuildError
from patchjury.envs.gitsource import resolve_commit
from patchjury.envs.image_build import RECIPE_VERSION, SETUP_COMMIT_MESSAGE, ImageBuild
from patchjury.envs.sweep import docker_client, image_exists

__all__ = [
    "RECIPE_VERSION",
    "SETUP_COMMIT_MESSAGE",
    "build_env_image",
    "ensure_base_image",
    "env_image_tag",
    "image_key",
]

DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ENV_REPOSITORY = "patchjury/env"
_SENTINEL_CA: Any = object()
_build_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def log_dir() -> Path:
    """Where build logs go: $PATCHJURY_CACHE/build-logs (default ~/.cache/patchjury/build-logs)."""
    root = Path(os.environ.get("PATCHJURY_CACHE") or Path.home() / ".cache" / "patchjury")
    path = root / "build-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_key(
    base_id: str,
    commit: str,
    setup: Sequence[str],
    env: Mapping[str, str],
    workdir: str,
    submodules: Sequence[str] = (),
) -> str:
    """sha256 of the inputs that shape an env image (`submodules`: the paths checked out; their commits
    follow from `commit`)."""
    inputs: dict[str, Any] = {
        "v": RECIPE_VERSION,
        "base": base_id,
        "commit": commit,
        "setup": list(setup),
        "env": dict(sorted(env.items())),
        "workdir": workdir,
    }
    if submodules:  # absent otherwise, so images built before submodules existed keep their tags
        inputs["submodules"] = sorted(submodules)
    payload = json.dumps(inputs, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _slug(repo: Path | str) -> str:
    name = Path(str(repo).rstrip("/")).name.removesuffix(".git").lower()
    return re.sub(r"[^a-z0-9_.-]+", "-", name).strip(".-")[:40] or "repo"


def env_image_tag(
    base: str,
    repo: Path | str,
    commit: str,
    setup: Sequence[str],
    workdir: str = "/testbed",
    env: Mapping[str, str] | None = None,
    name: str | None = None,
    submodules: Mapping[str, Path | str] | None = None,
) -> str:
    """The tag build_env_image would produce (resolves `commit` and the base image id).

    `name` (e.g. `owner__repo`) names the tag; default: the repository directory's name."""
    base_id = _image_id(base)
    sha = resolve_commit(repo, commit)
    key = image_key(base_id, sha, setup, env or {}, workdir, list(submodules or {}))
    return f"{ENV_REPOSITORY}:{_slug(name or repo)}-{key[:16]}"


def _image_id(name: str) -> str:
    from docker.errors import ImageNotFound

    try:
        image_id: str = docker_client().images.get(name).id or ""
    except ImageNotFound as exc:
        raise ImageBuildError(
            f"base image {name!r} not found; run `patchjury images bootstrap` (offline) or `docker pull {name}`"
        ) from exc
    return image_id


def ensure_base_image(name: str | None = None, suite: str = "bookworm") -> str:
    """A usable base image tag: `name` if present locally or pullable, else the bootstrapped Debian `suite`."""
    if not name:
        return bootstrap(suite)
    if image_exists(name):
        return name
    from docker.errors import DockerException

    try:
        docker_client().images.pull(name)
    except DockerException as exc:
        raise ImageBuildError(
            f"base image {name!r} is not present and cannot be pulled ({str(exc).splitlines()[0][:200]}); "
            f"without a registry run `patchjury images bootstrap --suite {suite}` and use its tag "
            "(or leave the base image unset)"
        ) from exc
    return name


def build_env_image(
    base: str,
    repo: Path | str,
    commit: str,
    setup: Sequence[str],
    workdir: str = "/testbed",
    env: Mapping[str, str] | None = None,
    ca_bundle: Path | None = _SENTINEL_CA,
    network: bool = True,
    *,
    force: bool = False,
    step_timeout: float = 3600.0,
    on_output: Callable[[str], None] | None = None,
    name: str | None = None,
    submodules: Mapping[str, Path | str] | None = None,
) -> str:
    """Build (or reuse) the env image for repo@commit on `base`; returns its tag (named after `name`, e.g.
    `owner__repo`, or the repository directory).

    `setup` commands run in order with bash in `workdir`; `env` is baked into the image. `ca_bundle` defaults
    to the host bundle when it exists (None disables). `on_output` receives build output as it arrives.
    `submodules` (path -> host repository holding the pinned commit) are checked out before setup.
    """
    env = dict(env or {})
    if ca_bundle is _SENTINEL_CA:
        ca_bundle = DEFAULT_CA_BUNDLE if DEFAULT_CA_BUNDLE.is_file() else None
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise ImageBuildError(f"CA bundle {ca_bundle} does not exist; pass an existing file or None")
    tag = env_image_tag(base, repo, commit, setup, workdir, env, name=name, submodules=submodules)
    with _locks_guard:
        lock = _build_locks.setdefault(tag, threading.Lock())
    with lock:
        if image_exists(tag) and not force:
            return tag
        sha = resolve_commit(repo, commit)
        log_path = (
            log_dir() / f"{tag.replace('/', '_').replace(':', '_')}-{time.strftime('%Y%m%d-%H%M%S')}.log"
        )
        with open(log_path, "w", encoding="utf-8", errors="replace") as log:
            ImageBuild(
                base,
                repo,
                sha,
                list(setup),
                workdir,
                env,
                ca_bundle,
                network,
                step_timeout,
                log,
                log_path,
                on_output,
                dict(submodules or {}),
            ).run(tag)
    return tag

"""Environment images: a base image + the repository at a commit + its dependencies, cached by content hash.

`build_env_image` tags its result with a hash of everything that shapes it (base image id, repo commit, setup
commands, env, workdir, recipe version), so it rebuilds only when an input changes; containers then start from
it in well under a second. Setup commands run with the host CA bundle mounted read-only (pip behind
TLS-inspecting proxies) and network on; the final image contains neither the bundle nor the build env vars.
If setup changes tracked files, those changes are committed in the image ("patchjury env setup"), so the
Env's base commit is the prepared tree and agents' diffs never include them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from patchjury.envs.bootstrap import bootstrap
from patchjury.envs.errors import ImageBuildError
from patchjury.envs.gitsource import checkout_tarball, resolve_commit
from patchjury.envs.secrets import redact
from patchjury.envs.sweep import (
    KEEPALIVE,
    LABEL_MANAGED,
    LABEL_SANDBOX_UID,
    LABEL_SANDBOX_USER,
    docker_client,
    image_exists,
    managed_labels,
    no_socket_timeout,
    register,
    remove_container,
)

#: Bump when the build procedure changes in a way that must invalidate cached env images.
RECIPE_VERSION = "2"
DEFAULT_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CA_TARGET = "/run/patchjury/ca-certificates.crt"
ENV_REPOSITORY = "patchjury/env"
#: Subject of the commit that records what setup changed in tracked files (HEAD of the image's work tree).
SETUP_COMMIT_MESSAGE = "patchjury env setup"
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
            _Build(
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


class _Build:
    """One env-image build in a throwaway container (removed in every case)."""

    def __init__(
        self,
        base: str,
        repo: Path | str,
        sha: str,
        setup: list[str],
        workdir: str,
        env: dict[str, str],
        ca_bundle: Path | None,
        network: bool,
        step_timeout: float,
        log: Any,
        log_path: Path,
        on_output: Callable[[str], None] | None,
        submodules: dict[str, Path | str],
    ) -> None:
        self.base, self.repo, self.sha, self.setup, self.workdir = base, repo, sha, setup, workdir
        self.submodules = submodules
        self.env, self.ca_bundle, self.network, self.step_timeout = env, ca_bundle, network, step_timeout
        self.log, self.log_path, self.on_output = log, log_path, on_output
        self.client = docker_client()
        self.api = self.client.api

    def emit(self, text: str) -> None:
        text = redact(text)
        self.log.write(text)
        self.log.flush()
        if self.on_output is not None:
            self.on_output(text)

    def fail(self, what: str) -> ImageBuildError:
        self.log.flush()
        tail = self.log_path.read_text(errors="replace")[-3000:]
        return ImageBuildError(f"{what}; full log: {self.log_path}\n--- last lines ---\n{tail}")

    def run(self, tag: str) -> None:
        from docker.errors import APIError
        from docker.types import Mount

        build_env = dict(self.env)
        mounts = []
        if self.ca_bundle is not None:
            mounts.append(Mount(CA_TARGET, str(Path(self.ca_bundle).resolve()), type="bind", read_only=True))
            for var in (
                "PIP_CERT",
                "REQUESTS_CA_BUNDLE",
                "SSL_CERT_FILE",
                "CURL_CA_BUNDLE",
                "GIT_SSL_CAINFO",
            ):
                build_env.setdefault(var, CA_TARGET)
        self.emit(f"# env image {tag}\n# base {self.base}, repo {self.repo} @ {self.sha}\n")
        try:
            container = self.client.containers.run(
                self.base,
                entrypoint=KEEPALIVE,
                command=[],
                detach=True,
                labels=managed_labels("build"),
                network_mode=None if self.network else "none",
                mounts=mounts,
                # Setup runs as root with the default capabilities (apt-get needs them), but setuid
                # binaries and file capabilities grant nothing more.
                security_opt=["no-new-privileges"],
            )
        except APIError as exc:
            raise self.fail(f"cannot start a build container from {self.base!r}: {exc}") from exc
        cid = container.id or ""
        register(cid, self.client)
        try:
            wd = shlex.quote(self.workdir)
            self.step(cid, f"mkdir -p {wd} && git config --system --add safe.directory '*'", "/", build_env)
            with open(checkout_tarball(self.repo, self.sha, submodules=self.submodules), "rb") as fh:
                self.api.put_archive(cid, self.workdir, fh)
            for i, cmd in enumerate(self.setup, 1):
                self.emit(f"\n# step {i}/{len(self.setup)}: {cmd}\n")
                self.step(cid, cmd, self.workdir, build_env, f"setup step {i}/{len(self.setup)} ({cmd!r})")
            self.step(
                cid,
                "git add -u && (git diff --cached --quiet || git -c user.name=patchjury "
                f"-c user.email=patchjury@localhost commit -q --no-verify -m {shlex.quote(SETUP_COMMIT_MESSAGE)}); "
                "git reset -q; git rev-parse HEAD",
                self.workdir,
                build_env,
                "recording setup changes",
            )
            self.give_to_sandbox_user(cid, build_env)
            changes = [
                f"WORKDIR {self.workdir}",
                f"LABEL {LABEL_MANAGED}=0",
                "LABEL dev.patchjury.kind=env",
                f"LABEL dev.patchjury.base-commit={self.sha}",
                f"LABEL dev.patchjury.recipe={RECIPE_VERSION}",
            ]
            changes += [f"ENV {k}={json.dumps(v)}" for k, v in self.env.items()]
            repo_name, _, tag_name = tag.rpartition(":")
            container.commit(
                repository=repo_name,
                tag=tag_name,
                changes=changes,
                message=f"patchjury env image for {self.sha}",
            )
            self.emit(f"\n# committed {tag}\n")
        finally:
            remove_container(self.client, cid)

    def give_to_sandbox_user(self, cid: str, env: dict[str, str]) -> None:
        """When the base image names an unprivileged sandbox user, the work tree and every virtualenv on the
        image's PATH become its own: agents run as that user, edit the repository and can `pip install`
        into the environment, while the rest of the system stays root's."""
        labels = (self.client.images.get(self.base).attrs.get("Config") or {}).get("Labels") or {}
        user, uid = labels.get(LABEL_SANDBOX_USER), labels.get(LABEL_SANDBOX_UID, "")
        if not user or not uid.isdigit():
            return
        script = (
            f"chown -R {uid}:{uid} {shlex.quote(self.workdir)}; "
            'IFS=:; for d in $PATH; do v=$(dirname "$d"); '
            '[ -f "$v/pyvenv.cfg" ] && chown -R ' + f"{uid}:{uid}" + ' "$v" && echo "sandbox user owns $v"; '
            "done; true"
        )
        self.emit(f"\n# work tree and virtualenvs to the sandbox user {user} ({uid})\n")
        self.step(cid, script, "/", env, f"giving {self.workdir} to the sandbox user")

    def step(
        self, cid: str, cmd: str, cwd: str, env: dict[str, str], what: str = "preparing the workdir"
    ) -> None:
        from docker.utils.socket import frames_iter

        script = (
            f"cd -- {shlex.quote(cwd)} && exec timeout -k 10 {self.step_timeout:g} bash -c {shlex.quote(cmd)}"
        )
        exec_id = self.api.exec_create(cid, ["bash", "-c", f"exec 2>&1; {script}"], environment=env)["Id"]
        sock = self.api.exec_start(exec_id, socket=True)
        no_socket_timeout(sock)
        try:
            for _stream, data in frames_iter(sock, tty=False):
                self.emit(data.decode("utf-8", errors="replace"))
        finally:
            sock.close()
        rc = self.api.exec_inspect(exec_id).get("ExitCode")
        if rc != 0:
            why = "timed out" if rc in (124, 137) else f"exit {rc}"
            raise self.fail(f"building env image failed while {what}: {why}")

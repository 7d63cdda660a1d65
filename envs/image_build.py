"""One environment-image build (envs.images decides when one is needed and what it is tagged).

A throwaway container from the base image gets the checkout (with its submodules when asked), runs the setup
commands with the host CA bundle mounted and network on, commits what setup changed in tracked files, gives the
work tree and virtualenvs to the base image's sandbox user, and is committed as the image; it is removed in
every case, and every byte of output goes to the build log (secrets redacted).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from patchjury.envs.errors import ImageBuildError
from patchjury.envs.gitsource import checkout_tarball
from patchjury.envs.secrets import redact
from patchjury.envs.sweep import (
    KEEPALIVE,
    LABEL_MANAGED,
    LABEL_SANDBOX_UID,
    LABEL_SANDBOX_USER,
    docker_client,
    managed_labels,
    no_socket_timeout,
    register,
    remove_container,
)

#: Bump when the build procedure changes in a way that must invalidate cached env images.
RECIPE_VERSION = "2"
CA_TARGET = "/run/patchjury/ca-certificates.crt"
#: Subject of the commit that records what setup changed in tracked files (HEAD of the image's work tree).
SETUP_COMMIT_MESSAGE = "patchjury env setup"


class ImageBuild:
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

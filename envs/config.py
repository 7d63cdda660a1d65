"""Configuration of Env backends. The `type` field picks the backend (see envs.registry.make_env)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Paths left out of every diff (build junk that a repo without a .gitignore would otherwise leak).
DEFAULT_DIFF_IGNORE = ("**/__pycache__/**", "**/*.pyc", "**/.pytest_cache/**")


class _CommonEnvConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output_limit: int = Field(default=30_000, ge=0)
    """Maximum characters of command output kept (head + tail, with an elision note); 0 = unlimited."""
    default_timeout: float = Field(default=300.0, gt=0)
    """Seconds a command may run when `execute` is called without a timeout."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for every command."""
    diff_ignore: list[str] = Field(default_factory=lambda: list(DEFAULT_DIFF_IGNORE))
    """Glob pathspecs never included in `diff()` (in addition to the repo's .gitignore)."""


class LocalEnvConfig(_CommonEnvConfig):
    """Run commands directly on this machine in a temporary checkout. NOT isolated: commands can touch anything
    the current user can (their environment is scrubbed to an allowlist, see `pass_env`)."""

    type: Literal["local"] = "local"
    """Backend selector."""
    repo: Path
    """Path of the git repository to check out (it is never modified, except for a worktree entry)."""
    commit: str = "HEAD"
    """Commit (any rev git understands) to check out; it becomes the base commit of diff/reset."""
    use_worktree: bool = True
    """True: `git worktree add` (fast, shares objects, registers a worktree in the source repo);
    False: a separate `git clone --shared` (source repo untouched)."""
    tmp_dir: Path | None = None
    """Parent directory for the temporary checkout (default: the system temp dir)."""
    pass_env: list[str] = Field(default_factory=list)
    """Names of host environment variables commands may see, besides the allowlist (PATH, LANG, LC_*, TZ,
    TERM, USER, LOGNAME, VIRTUAL_ENV); `NAME*` passes every name starting with NAME. Everything else of the
    calling process (API keys, tokens) is hidden; HOME and TMPDIR point inside the temporary checkout's dir."""


class MountSpec(BaseModel):
    """A host path bind-mounted into the container."""

    model_config = ConfigDict(extra="forbid")

    source: Path
    """Absolute host path."""
    target: str
    """Absolute path inside the container."""
    read_only: bool = True
    """Mount read-only (the default; sandboxes should not write to the host)."""


class DockerEnvConfig(_CommonEnvConfig):
    """One container per Env, started from `image` (isolated, resource-limited, no network by default)."""

    type: Literal["docker"] = "docker"
    """Backend selector."""
    image: str
    """Image to start (an env image from envs.images.build_env_image, or any image with git and bash)."""
    workdir: str = "/testbed"
    """Absolute path of the repository inside the container."""
    memory: str = "4g"
    """Memory limit (docker syntax: 512m, 4g)."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU limit in cores."""
    pids_limit: int = Field(default=1024, gt=0)
    """Maximum number of processes in the container (fork-bomb guard)."""
    network: bool = False
    """Give the container network access (default off for agent sandboxes)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra container labels (patchjury's own dev.patchjury.* labels are always added)."""
    mounts: list[MountSpec] = Field(default_factory=list)
    """Host paths to bind-mount (e.g. a CA bundle)."""
    source_repo: Path | None = None
    """Host git repo to copy into `workdir` at start (for images that do not contain the repo)."""
    commit: str | None = None
    """Base commit: with `source_repo`, the commit to copy (default HEAD); without it, a commit of the repo
    inside the image to check out (default: the image's HEAD)."""
    user: str | None = None
    """User to run commands as. None: the image's sandbox user (label dev.patchjury.sandbox-user, set on
    patchjury's base and environment images, where the work tree belongs to it), else the image's own user
    (root in official SWE-bench images)."""
    cap_add: list[str] = Field(default_factory=list)
    """Linux capabilities kept (e.g. DAC_OVERRIDE); every other one is dropped (`--cap-drop ALL`)."""
    no_new_privileges: bool = True
    """`--security-opt no-new-privileges`: setuid binaries and file capabilities grant nothing."""
    read_only_root: bool = False
    """Read-only root filesystem: only the work tree, /tmp and the user's HOME are writable (volumes holding the
    image's copy of them, removed with the container). Installing packages at run time (pip into a venv of the image) then fails;
    see docs/envs.md for which environments run this way."""
    run_id: str | None = None
    """Run id label (default: this process's run id, see patchjury.envs.sweep.process_run_id); used by sweeps."""
    use_runner: bool = True
    """Run commands through a persistent in-container runner (~5 ms per command instead of ~60-90 ms per
    `docker exec`); needs python3 in the image, falls back to plain exec without it."""

    @model_validator(mode="after")
    def _absolute_workdir(self) -> DockerEnvConfig:
        if not self.workdir.startswith("/"):
            raise ValueError(f"workdir must be an absolute path inside the container, got {self.workdir!r}")
        return self


EnvConfig = Annotated[LocalEnvConfig | DockerEnvConfig, Field(discriminator="type")]
"""Any backend's config; pydantic picks the class from `type`."""

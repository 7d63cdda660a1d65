"""The Action's inputs and the runner's context, read from environment variables (action.yml sets them)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchjury.core.errors import UsageError

TRUSTED_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")
#: Environment passed to `patchjury solve`: only these names (plus the configured API-key variables).
SOLVE_ENV_ALLOW = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "RUNNER_TEMP",
    "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONFIG", "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "VIRTUAL_ENV", "LITELLM_LOCAL_MODEL_COST_MAP", "PATCHJURY_DEBUG",
)  # fmt: skip
#: Never forwarded to the solve step, even when listed in api-key-env.
FORBIDDEN_ENV = re.compile(
    r"^(GITHUB_|ACTIONS_|RUNNER_|INPUT_)|^(GH_TOKEN|PATCHJURY_GITHUB_TOKEN)$", re.IGNORECASE
)


#: Paths a patch may not touch by default: they run with the repository's secrets or control what does
#: (CI workflows and configs, hooks that CI runs, build entry points, code owners, dev containers).
#: A pattern with a `/` matches the whole path (`*` crosses directories); one without matches a file name
#: at any depth.
DEFAULT_PROTECTED_PATHS = (
    ".github/*", ".gitlab-ci.yml", ".gitlab/*", ".circleci/*", ".travis.yml", "azure-pipelines.yml",
    ".azure-pipelines/*", "Jenkinsfile", ".buildkite/*", "appveyor.yml", ".appveyor.yml", ".drone.yml",
    "bitbucket-pipelines.yml", ".woodpecker.yml", ".woodpecker/*", "cloudbuild.yaml", "buildspec.yml",
    ".pre-commit-config.yaml", "tox.ini", "noxfile.py", "Makefile", ".devcontainer/*", ".vscode/*",
    "CODEOWNERS", ".gitmodules", ".gitattributes", ".patchjury.yaml", ".patchjury/*",
)  # fmt: skip


class ActionSettings(BaseModel):
    """The Action's inputs and the runner's context, read from environment variables by `from_env`."""

    model_config = ConfigDict(extra="forbid")

    event_name: str
    """GITHUB_EVENT_NAME: `issues`, `issue_comment` or `workflow_dispatch`."""
    event_path: Path
    """GITHUB_EVENT_PATH: the webhook payload file."""
    repository: str
    """GITHUB_REPOSITORY: `owner/name`."""
    workspace: Path
    """GITHUB_WORKSPACE: the checked-out repository."""
    token: str = Field(default="", repr=False)
    """Token for pushing the branch and calling the API (PAT or app token so the PR triggers CI)."""
    api_url: str = "https://api.github.com"
    """GITHUB_API_URL (GitHub Enterprise or a test server)."""
    server_url: str = "https://github.com"
    """GITHUB_SERVER_URL, for links."""
    run_id: str = "local"
    """GITHUB_RUN_ID, used in the run id and links."""
    label: str = "patchjury"
    """Issue label that triggers a run."""
    command: str = "/patchjury"
    """Comment command that triggers a run (from OWNER/MEMBER/COLLABORATOR with write access)."""
    models: list[str] = Field(default_factory=list)
    """Models (litellm names); empty = patchjury's configured default."""
    api_key_env: list[str] = Field(default_factory=list)
    """Names of environment variables (API keys, endpoints) forwarded to the solve step."""
    trajectories: int | None = None
    """Trajectories per issue (None = config default)."""
    traj_workers: int | None = None
    """Parallel trajectories (None = config default)."""
    max_cost: float | None = None
    """Dollar budget for the run (None = config default)."""
    config: list[str] = Field(default_factory=list)
    """`-c` items for patchjury solve (config files in the repo, KEY.PATH=VALUE overrides)."""
    setup: str = ""
    """Command installing the repository's dependencies inside the sandbox."""
    protected_paths: list[str] = Field(default_factory=lambda: list(DEFAULT_PROTECTED_PATHS))
    """Globs of paths a proposed patch may not touch (see DEFAULT_PROTECTED_PATHS)."""
    allow_protected_paths: bool = False
    """Open the PR anyway when the patch touches protected paths (they are flagged in the PR body)."""
    remote: str = "origin"
    """Git remote the branch is pushed to."""
    solve_command: list[str] = Field(default_factory=lambda: [sys.executable, "-m", "patchjury.cli", "solve"])
    """How to run `patchjury solve` (tests substitute a fake)."""
    output_file: Path | None = None
    """GITHUB_OUTPUT."""
    summary_file: Path | None = None
    """GITHUB_STEP_SUMMARY."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionSettings:
        def need(name: str) -> str:
            if not env.get(name):
                raise UsageError(
                    f"{name} is not set: run this inside GitHub Actions (or export it for `act`)"
                )
            return env[name]

        def opt(name: str) -> str | None:
            return env.get(name, "").strip() or None

        def items(name: str) -> list[str]:
            return [s.strip() for s in re.split(r"[\n,]", env.get(name, "")) if s.strip()]

        data: dict[str, Any] = {
            "event_name": need("GITHUB_EVENT_NAME"),
            "event_path": need("GITHUB_EVENT_PATH"),
            "repository": need("GITHUB_REPOSITORY"),
            "workspace": env.get("GITHUB_WORKSPACE") or os.getcwd(),
            "token": env.get("PATCHJURY_GITHUB_TOKEN", ""),
            "models": items("PATCHJURY_MODEL"),
            "api_key_env": items("PATCHJURY_API_KEY_ENV"),
            "config": [s.strip() for s in env.get("PATCHJURY_CONFIG", "").splitlines() if s.strip()],
            "setup": env.get("PATCHJURY_SETUP", ""),
        }
        for key, name in (
            ("api_url", "GITHUB_API_URL"), ("server_url", "GITHUB_SERVER_URL"), ("run_id", "GITHUB_RUN_ID"),
            ("label", "PATCHJURY_LABEL"), ("command", "PATCHJURY_COMMAND"), ("remote", "PATCHJURY_REMOTE"),
            ("trajectories", "PATCHJURY_TRAJECTORIES"), ("traj_workers", "PATCHJURY_TRAJ_WORKERS"),
            ("max_cost", "PATCHJURY_MAX_COST"), ("output_file", "GITHUB_OUTPUT"),
            ("summary_file", "GITHUB_STEP_SUMMARY"),
        ):  # fmt: skip
            if opt(name) is not None:
                data[key] = opt(name)
        if opt("PATCHJURY_PROTECTED_PATHS") is not None:
            data["protected_paths"] = items("PATCHJURY_PROTECTED_PATHS")
        allow = (opt("PATCHJURY_ALLOW_PROTECTED_PATHS") or "false").lower()
        if allow not in ("true", "false"):
            raise UsageError(f"allow-protected-paths must be true or false, got {allow!r}")
        data["allow_protected_paths"] = allow == "true"
        if opt("PATCHJURY_WORKERS") is not None:  # the deprecated `workers` input, set on purpose: it wins
            data["traj_workers"] = opt("PATCHJURY_WORKERS")
        if opt("PATCHJURY_SOLVE_COMMAND"):
            data["solve_command"] = json.loads(env["PATCHJURY_SOLVE_COMMAND"])
        return cls.model_validate(data)

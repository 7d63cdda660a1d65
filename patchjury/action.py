"""The GitHub Action's steps as Python: parse the event, decide, run `patchjury solve`, then PR or comment.

Entry point: `python -m patchjury.action` (what action.yml runs). Everything comes from environment
variables and the event payload FILE ($GITHUB_EVENT_PATH): issue text is never interpolated into a shell
script. `patchjury solve` runs in a subprocess whose environment holds no GitHub token, and the
repository's persisted checkout credentials are removed before it starts, so sandboxes cannot see one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from patchjury import gitops
from patchjury.errors import PatchjuryError, UsageError
from patchjury.github import GitHubClient, Issue
from patchjury.outcome import RunOutcome

TRUSTED_ASSOCIATIONS = ("OWNER", "MEMBER", "COLLABORATOR")
#: Environment passed to `patchjury solve`: only these names (plus the configured API-key variables).
SOLVE_ENV_ALLOW = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TEMP", "TMP", "RUNNER_TEMP",
    "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONFIG", "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_INDEX_URL", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "no_proxy", "VIRTUAL_ENV", "LITELLM_LOCAL_MODEL_COST_MAP", "PATCHJURY_DEBUG",
)  # fmt: skip
#: Never forwarded to the solve step, even when listed in api-key-env.
_FORBIDDEN_ENV = re.compile(
    r"^(GITHUB_|ACTIONS_|RUNNER_|INPUT_)|^(GH_TOKEN|PATCHJURY_GITHUB_TOKEN)$", re.IGNORECASE
)


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
    workers: int | None = None
    """Parallel trajectories (None = config default)."""
    max_cost: float | None = None
    """Dollar budget for the run (None = config default)."""
    config: list[str] = Field(default_factory=list)
    """`-c` items for patchjury solve (config files in the repo, KEY.PATH=VALUE overrides)."""
    setup: str = ""
    """Command installing the repository's dependencies inside the sandbox."""
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
            ("trajectories", "PATCHJURY_TRAJECTORIES"), ("workers", "PATCHJURY_WORKERS"),
            ("max_cost", "PATCHJURY_MAX_COST"), ("output_file", "GITHUB_OUTPUT"),
            ("summary_file", "GITHUB_STEP_SUMMARY"),
        ):  # fmt: skip
            if opt(name) is not None:
                data[key] = opt(name)
        if opt("PATCHJURY_SOLVE_COMMAND"):
            data["solve_command"] = json.loads(env["PATCHJURY_SOLVE_COMMAND"])
        return cls.model_validate(data)


@dataclass(frozen=True)
class Trigger:
    """Why and for which issue the Action runs."""

    issue: Issue
    actor: str
    default_branch: str
    note: str = ""
    """Extra text after the comment command (the maintainer's hint)."""


@dataclass(frozen=True)
class Skip:
    reason: str


def decide(settings: ActionSettings, payload: dict[str, Any], client: GitHubClient) -> Trigger | Skip:
    """Whether this event asks patchjury to work, and on which issue. Permission checks happen here."""
    repo_info = payload.get("repository") or {}
    default_branch = str(repo_info.get("default_branch") or "")
    sender = str((payload.get("sender") or {}).get("login") or "")
    if settings.event_name == "issues":
        if payload.get("action") != "labeled":
            return Skip(f"issues event action {payload.get('action')!r} is not `labeled`")
        label = str((payload.get("label") or {}).get("name") or "")
        if label != settings.label:
            return Skip(f"label {label!r} is not the trigger label {settings.label!r}")
        issue = Issue.from_api(payload["issue"])
        return Trigger(issue, sender, default_branch or client.default_branch())
    if settings.event_name == "issue_comment":
        if payload.get("action") != "created":
            return Skip("comment was edited or deleted, not created")
        comment = payload.get("comment") or {}
        body = str(comment.get("body") or "").strip()
        first, _, rest = body.partition("\n")
        words = first.split(maxsplit=1)
        if not words or words[0] != settings.command:
            return Skip(f"comment does not start with {settings.command}")
        author = str((comment.get("user") or {}).get("login") or "")
        association = str(comment.get("author_association") or "NONE")
        if association not in TRUSTED_ASSOCIATIONS:
            return Skip(f"@{author} ({association}) is not an owner, member or collaborator")
        issue = Issue.from_api(payload["issue"])
        if issue.is_pull_request:
            return Skip("comment is on a pull request, not an issue")
        if not client.can_write(author):
            return Skip(f"@{author} has no write access to {settings.repository}")
        note = "\n".join(s for s in ((words[1] if len(words) > 1 else ""), rest.strip()) if s)
        return Trigger(issue, author, default_branch or client.default_branch(), note)
    if settings.event_name == "workflow_dispatch":
        inputs = payload.get("inputs") or {}
        number = str(inputs.get("issue") or inputs.get("issue-number") or "").strip()
        if not number.isdigit():
            raise UsageError("workflow_dispatch needs an `issue` input with the issue number")
        return Trigger(client.get_issue(int(number)), sender, default_branch or client.default_branch())
    return Skip(
        f"event {settings.event_name!r} is not handled (use issues, issue_comment or workflow_dispatch)"
    )


def issue_text(trigger: Trigger) -> str:
    text = f"# {trigger.issue.title}\n\n{trigger.issue.body.strip()}\n"
    if trigger.note:
        text += f"\n## Note from @{trigger.actor}\n\n{trigger.note.strip()}\n"
    return text


def solve_env(settings: ActionSettings, env: Mapping[str, str]) -> dict[str, str]:
    """The solve step's environment: an allowlist plus the named key variables; never a GitHub token."""
    out = {k: env[k] for k in SOLVE_ENV_ALLOW if k in env}
    for name in settings.api_key_env:
        if _FORBIDDEN_ENV.search(name):
            raise UsageError(
                f"api-key-env lists {name!r}: GitHub/runner variables are never forwarded to the sandbox; "
                "list only model API keys and endpoints (e.g. OPENAI_API_KEY)"
            )
        if name in env:
            out[name] = env[name]
    secrets = {settings.token} | {
        env.get(n, "") for n in ("GITHUB_TOKEN", "GH_TOKEN", "PATCHJURY_GITHUB_TOKEN")
    }
    secrets.discard("")
    leaked = sorted(k for k, v in out.items() if v in secrets)
    if leaked:
        raise UsageError(
            f"{', '.join(leaked)} holds the GitHub token: pass model API keys only in api-key-env"
        )
    return out


def run_solve(settings: ActionSettings, trigger: Trigger, env: Mapping[str, str]) -> tuple[RunOutcome, Path]:
    """Run `patchjury solve` in a token-free subprocess; return its outcome and run directory."""
    removed = gitops.strip_persisted_credentials(settings.workspace)
    if removed:
        print(f"patchjury: removed persisted credentials ({', '.join(removed)}) before sandboxing the repo")
    run_id = f"gh-{trigger.issue.number}-{settings.run_id}"
    with tempfile.TemporaryDirectory(prefix="patchjury-issue-") as tmp:
        issue_file = Path(tmp) / "issue.md"
        issue_file.write_text(issue_text(trigger))
        cmd = [*settings.solve_command, "--repo", str(settings.workspace), "--issue-file", str(issue_file)]
        cmd += ["--run-id", run_id, "--instance-id", f"issue-{trigger.issue.number}"]
        for model in settings.models:
            cmd += ["--model", model]
        for flag, value in (("-n", settings.trajectories), ("--workers", settings.workers),
                            ("--max-cost", settings.max_cost)):  # fmt: skip
            if value is not None:
                cmd += [flag, str(value)]
        if settings.setup:
            cmd += ["--setup", settings.setup]
        for spec in settings.config:
            cmd += ["-c", spec]
        # Untrusted issue text may be echoed in the log: stop workflow-command parsing meanwhile.
        fence = os.urandom(12).hex()
        print(f"::stop-commands::{fence}", flush=True)
        try:
            proc = subprocess.run(cmd, env=solve_env(settings, env), cwd=settings.workspace)
        finally:
            print(f"::{fence}::", flush=True)
    run_dir = settings.workspace / gitops.RUNS_DIRNAME / "runs" / run_id
    if proc.returncode != 0:
        raise PatchjuryError(f"patchjury solve failed (exit {proc.returncode}); see the log above")
    return RunOutcome.load(run_dir), run_dir


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the Action: returns the process exit code (0 also when the event is skipped)."""
    from patchjury.action_publish import publish, write_outputs

    env = os.environ if env is None else env
    settings = ActionSettings.from_env(env)
    payload = json.loads(settings.event_path.read_text())
    client = GitHubClient(settings.repository, settings.token or None, settings.api_url)
    verdict = decide(settings, payload, client)
    if isinstance(verdict, Skip):
        print(f"patchjury: skipping: {verdict.reason}")
        write_outputs(settings, {"decision": "skipped", "reason": verdict.reason})
        return 0
    print(f"patchjury: working on issue #{verdict.issue.number} for @{verdict.actor}")
    try:
        outcome, run_dir = run_solve(settings, verdict, env)
    except PatchjuryError as exc:
        link = f"{settings.server_url}/{settings.repository}/actions/runs/{settings.run_id}"
        client.create_issue_comment(
            verdict.issue.number,
            f"patchjury could not run on this issue: {exc}\n\nSee the [workflow run]({link}).",
        )
        write_outputs(settings, {"decision": "error", "reason": str(exc)})
        raise
    done = publish(settings, client, verdict, outcome, run_dir)
    print(f"patchjury: {done.decision}: {done.url}")
    write_outputs(
        settings,
        {
            "decision": done.decision,
            "url": done.url,
            "branch": done.branch or "",
            "run-dir": str(run_dir),
        },
        summary=outcome.report_text(run_dir),
    )
    return 0


if __name__ == "__main__":
    from patchjury.errors import PatchjuryError as _Err

    try:
        sys.exit(main())
    except _Err as exc:
        if os.environ.get("PATCHJURY_DEBUG"):
            raise
        print(f"::error::patchjury: {exc}", file=sys.stderr)
        sys.exit(2)

"""The GitHub Action from event to result: decide, run `patchjury solve`, then PR or comment (`main`).

Everything comes from environment variables and the event payload FILE ($GITHUB_EVENT_PATH): issue text is
never interpolated into a shell script. `patchjury solve` runs in a subprocess whose environment holds no GitHub token, and the
repository's persisted checkout credentials are removed before it starts, so sandboxes cannot see one.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from patchjury.action.github import GitHubClient
from patchjury.action.settings import FORBIDDEN_ENV, SOLVE_ENV_ALLOW, ActionSettings
from patchjury.action.trigger import Skip, Trigger, decide, issue_text
from patchjury.core import gitops
from patchjury.core.errors import PatchjuryError, UsageError
from patchjury.report.outcome import RunOutcome


def solve_env(settings: ActionSettings, env: Mapping[str, str]) -> dict[str, str]:
    """The solve step's environment: an allowlist plus the named key variables; never a GitHub token."""
    out = {k: env[k] for k in SOLVE_ENV_ALLOW if k in env}
    for name in settings.api_key_env:
        if FORBIDDEN_ENV.search(name):
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
        for flag, value in (("-n", settings.trajectories), ("--traj-workers", settings.traj_workers),
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
    from patchjury.action.publish import publish, write_outputs

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

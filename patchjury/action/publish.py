"""The Action's last step: push a `patchjury/<slug>` branch and open a draft PR, or comment on the issue."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from patchjury.action.github import GitHubClient
from patchjury.core import gitops
from patchjury.report.outcome import RunOutcome

if TYPE_CHECKING:
    from patchjury.action.settings import ActionSettings
    from patchjury.action.trigger import Trigger

FOOTER = (
    "\n\n---\n<sub>Proposed by patchjury: several agent trajectories "
    "in sandboxes, a jury of execution votes and a trained verifier picked this patch. Review it like any "
    "contribution; CI runs only if the workflow's token is a PAT or an app token.</sub>\n"
)


@dataclass(frozen=True)
class Published:
    decision: str
    """`pr`, `comment` or `refused` (the patch touches protected paths)."""
    url: str
    branch: str | None = None


def remote_branch_exists(repo: Path, remote: str, branch: str, token: str | None) -> bool:
    args = ["git", "-C", str(repo)]
    if token:
        import base64

        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        args += ["-c", f"http.extraheader=AUTHORIZATION: basic {basic}"]
    run = subprocess.run(
        [*args, "ls-remote", "--exit-code", "--heads", remote, branch], capture_output=True, text=True
    )
    return run.returncode == 0


def pick_branch(settings: ActionSettings, trigger: Trigger) -> str:
    """`patchjury/issue-<n>-<slug>`, suffixed when that branch exists locally or on the remote."""
    base = f"issue-{trigger.issue.number}-{gitops.slugify(trigger.issue.title, 40)}"
    name = gitops.free_branch_name(settings.workspace, base)
    if remote_branch_exists(settings.workspace, settings.remote, name, settings.token):
        name = gitops.free_branch_name(settings.workspace, f"{base}-run{settings.run_id}")
    return name


def run_link(settings: ActionSettings) -> str:
    return f"{settings.server_url}/{settings.repository}/actions/runs/{settings.run_id}"


def open_pull_request(
    settings: ActionSettings,
    client: GitHubClient,
    trigger: Trigger,
    outcome: RunOutcome,
    run_dir: Path,
    protected: list[str] | None = None,
) -> Published:
    """Commit the chosen patch on a new branch (checkout untouched), push it, open a draft PR."""
    branch = pick_branch(settings, trigger)
    message = outcome.commit_message
    if f"#{trigger.issue.number}" not in message:
        message = message.rstrip() + f"\n\nRefs #{trigger.issue.number}\n"
    made = gitops.commit_patch_on_branch(settings.workspace, outcome.patch_text(run_dir), branch, message)
    gitops.push_branch(
        settings.workspace, settings.remote, made.branch, settings.token, trigger.default_branch
    )
    warning = ""
    if protected:
        warning = (
            "> [!WARNING]\n> This patch changes files that run with the repository's secrets or control CI "
            "(allowed by `allow-protected-paths`): "
            + ", ".join(f"`{p}`" for p in protected)
            + ". Review them before CI runs on this branch or anyone merges it.\n\n"
        )
    body = (
        warning + f"Resolves #{trigger.issue.number} (requested by @{trigger.actor}; "
        f"[workflow run]({run_link(settings)})).\n\n" + outcome.report_text(run_dir) + FOOTER
    )
    pr = client.create_pull_request(
        title=outcome.title, head=made.branch, base=trigger.default_branch, body=body, draft=True
    )
    client.create_issue_comment(
        trigger.issue.number,
        f"patchjury opened draft PR #{pr.number} with a proposed fix ({outcome.n_candidates} candidate "
        f"patches from {outcome.n_trajectories} trajectories; cost ${outcome.cost:.2f}).",
    )
    return Published("pr", pr.html_url, made.branch)


def comment_no_patch(
    settings: ActionSettings, client: GitHubClient, trigger: Trigger, outcome: RunOutcome, run_dir: Path
) -> Published:
    """No candidate passes its own tests: say what was tried instead of proposing a patch."""
    why = {
        "no_candidate": "no trajectory produced a patch",
        "unverified": "the tests were not executed (execution is disabled in the config), so no patch is verified",
        "interrupted": "the run was interrupted before every trajectory finished",
    }.get(outcome.status, "no candidate patch passes its own reproduction test")
    head = (
        f"patchjury ran {outcome.n_trajectories} trajectories for this issue "
        f"([workflow run]({run_link(settings)})) but {why}, so it is not proposing a pull request.\n\n"
    )
    body = head + outcome.summary.strip() + "\n\n<details><summary>Full report</summary>\n\n"
    body += outcome.report_text(run_dir) + "\n\n</details>" + FOOTER
    url = client.create_issue_comment(trigger.issue.number, body)
    return Published("comment", url)


def protected_hits(patch: str, patterns: list[str]) -> list[str]:
    """Paths of `patch` (both sides of every file, so deletions and renames count) matching `patterns`."""
    paths: set[str] = set()
    for m in re.finditer(r"^diff --git a/(.+?) b/(.+?)$|^(?:---|\+\+\+) [ab]/(.+?)\s*$", patch, flags=re.M):
        paths.update(p for p in m.groups() if p)
    hits = []
    for path in sorted(paths):
        name = path.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatchcase(path if "/" in pat else name, pat) for pat in patterns):
            hits.append(path)
    return hits


def refuse_protected(
    settings: ActionSettings, client: GitHubClient, trigger: Trigger, outcome: RunOutcome, hits: list[str]
) -> Published:
    """The chosen patch touches protected paths: explain on the issue, push nothing."""
    listed = "\n".join(f"- `{h}`" for h in hits)
    body = (
        f"patchjury found a patch for this issue ([workflow run]({run_link(settings)})) but it changes files "
        f"that run with this repository's secrets or control CI, so it is **not proposing a pull request**:\n\n"
        f"{listed}\n\nA patch shaped by an issue must not be able to change them. To allow it for this "
        "repository, set `allow-protected-paths: true` (such PRs are then flagged), or adjust "
        "`protected-paths`." + FOOTER
    )
    url = client.create_issue_comment(trigger.issue.number, body)
    return Published("refused", url)


def publish(
    settings: ActionSettings, client: GitHubClient, trigger: Trigger, outcome: RunOutcome, run_dir: Path
) -> Published:
    if outcome.status == "patch" and outcome.patch_file:
        hits = protected_hits(outcome.patch_text(run_dir), settings.protected_paths)
        if hits and not settings.allow_protected_paths:
            return refuse_protected(settings, client, trigger, outcome, hits)
        return open_pull_request(settings, client, trigger, outcome, run_dir, hits)
    return comment_no_patch(settings, client, trigger, outcome, run_dir)


def write_outputs(settings: ActionSettings, values: dict[str, str], summary: str = "") -> None:
    """Step outputs ($GITHUB_OUTPUT) and the job summary ($GITHUB_STEP_SUMMARY)."""
    if settings.output_file:
        with settings.output_file.open("a") as fh:
            for key, value in values.items():
                fh.write(f"{key}={value.replace(chr(10), ' ')}\n")
    if settings.summary_file and summary:
        with settings.summary_file.open("a") as fh:
            fh.write(summary + "\n")

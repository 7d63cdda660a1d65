"""Whether an event asks patchjury to work, and on which issue (permission checks happen here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patchjury.action.github import GitHubClient, Issue
from patchjury.action.settings import TRUSTED_ASSOCIATIONS, ActionSettings
from patchjury.core.errors import UsageError


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

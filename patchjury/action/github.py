"""A small GitHub REST client: just what the Action needs (issues, comments, draft PRs, permissions).

The base URL is configurable (`GITHUB_API_URL` on runners, GitHub Enterprise, or a local fake server in
tests). Standard library only, so the Action's decision step starts fast and has nothing to mock.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from patchjury.core.errors import PatchjuryError

DEFAULT_API_URL = "https://api.github.com"
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})
#: GitHub rejects issue/PR bodies above 65536 characters.
MAX_BODY_CHARS = 65_000


class GitHubError(PatchjuryError, RuntimeError):
    """A GitHub API call failed; carries the HTTP status and GitHub's message."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        self.status = status
        self.github_message = message
        hint = ""
        if status == 401:
            hint = " (the token is missing or invalid: check the action's `token` input)"
        elif status == 403:
            hint = (
                " (the token lacks permission: it needs `contents: write`, `pull-requests: write` and "
                "`issues: write`, or a PAT/app token with those scopes)"
            )
        elif status == 404:
            hint = " (wrong repository, or the token cannot see it)"
        elif status == 422:
            hint = (
                " (GitHub rejected the request: e.g. the head branch was not pushed or a PR already exists)"
            )
        super().__init__(f"GitHub API {method} {path} failed with HTTP {status}: {message}{hint}")


@dataclass(frozen=True)
class Issue:
    """The parts of an issue patchjury uses."""

    number: int
    title: str
    body: str
    is_pull_request: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Issue:
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            body=str(data.get("body") or ""),
            is_pull_request="pull_request" in data,
        )


@dataclass(frozen=True)
class PullRequest:
    number: int
    html_url: str
    draft: bool


def truncate_body(text: str, limit: int = MAX_BODY_CHARS) -> str:
    """Fit `text` in GitHub's body limit, keeping head and tail with a visible note."""
    if len(text) <= limit:
        return text
    note = "\n\n… (truncated by patchjury: the full report is in the workflow's run artifacts) …\n\n"
    keep = limit - len(note)
    head = keep * 3 // 4
    return text[:head] + note + text[len(text) - (keep - head) :]


class GitHubClient:
    """Calls the GitHub REST API for one repository (`owner/name`)."""

    def __init__(
        self,
        repository: str,
        token: str | None,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> None:
        if repository.count("/") != 1 or not all(repository.split("/")):
            raise PatchjuryError(f"repository must be OWNER/NAME, got {repository!r}")
        self.repository = repository
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries

    def __repr__(self) -> str:  # never show the token
        return f"GitHubClient({self.repository!r}, api_url={self.api_url!r})"

    # -- transport -------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One API call; JSON in and out. Retries 502/503/504 and connection errors with backoff."""
        url = self.api_url + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "patchjury-action",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
                return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                if exc.code in (502, 503, 504) and attempt < self.retries:
                    time.sleep(2**attempt)
                    continue
                raise GitHubError(method, path, exc.code, _error_message(exc)) from exc
            except urllib.error.URLError as exc:
                if attempt < self.retries:
                    time.sleep(2**attempt)
                    continue
                raise GitHubError(method, path, 0, f"cannot reach {self.api_url}: {exc.reason}") from exc
        raise AssertionError("unreachable")

    def _repo_path(self, suffix: str) -> str:
        owner, name = self.repository.split("/")
        return f"/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(name)}{suffix}"

    # -- endpoints -------------------------------------------------------------------------------
    def get_issue(self, number: int) -> Issue:
        return Issue.from_api(self.request("GET", self._repo_path(f"/issues/{number}")))

    def default_branch(self) -> str:
        return str(self.request("GET", self._repo_path(""))["default_branch"])

    def permission(self, username: str) -> str:
        """`admin`, `maintain`, `write`, `triage`, `read` or `none` for `username` on the repository."""
        path = self._repo_path(f"/collaborators/{urllib.parse.quote(username)}/permission")
        try:
            data = self.request("GET", path)
        except GitHubError as exc:
            if exc.status == 404:  # not a collaborator at all
                return "none"
            raise
        return str(data.get("role_name") or data.get("permission") or "none")

    def can_write(self, username: str) -> bool:
        return self.permission(username) in WRITE_PERMISSIONS

    def create_issue_comment(self, number: int, body: str) -> str:
        data = self.request(
            "POST", self._repo_path(f"/issues/{number}/comments"), {"body": truncate_body(body)}
        )
        return str(data.get("html_url", ""))

    def create_pull_request(
        self, title: str, head: str, base: str, body: str, draft: bool = True
    ) -> PullRequest:
        if head == base:
            raise PatchjuryError(f"refusing to open a PR from {head!r} onto itself")
        data = self.request(
            "POST",
            self._repo_path("/pulls"),
            {
                "title": title,
                "head": head,
                "base": base,
                "body": truncate_body(body),
                "draft": draft,
                "maintainer_can_modify": True,
            },
        )
        return PullRequest(
            number=int(data["number"]), html_url=str(data.get("html_url", "")), draft=bool(data.get("draft"))
        )


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read() or b"{}")
    except (json.JSONDecodeError, OSError):
        return exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    msg = str(payload.get("message") or exc.reason)
    errors = payload.get("errors")
    if errors:
        details = "; ".join(str(e.get("message") or e) if isinstance(e, dict) else str(e) for e in errors)
        msg = f"{msg} ({details})"
    return msg

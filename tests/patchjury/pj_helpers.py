"""Helpers for the front-door tests: a fake GitHub REST API (state + routes) and temporary git repositories."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitrepo import init_repo


def make_git_repo(path: Path, files: dict[str, str], branch: str = "main") -> Path:
    """A git repository at `path` with one commit holding `files`, on `branch`."""
    return init_repo(path, files, branch)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeGitHub:
    """State of the fake API: what it answers and every request it received."""

    url: str = ""
    repo: str = "octo/widgets"
    default_branch: str = "main"
    permissions: dict[str, str] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    """`METHOD /path` -> HTTP status to answer instead."""
    requests: list[Recorded] = field(default_factory=list)

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if f"{method} {path}" in self.fail:
            return self.fail[f"{method} {path}"], {"message": "Resource not accessible by integration"}
        prefix = f"/repos/{self.repo}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :]
        if method == "GET" and rest == "":
            return 200, {"full_name": self.repo, "default_branch": self.default_branch}
        if method == "GET" and (m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest)):
            perm = self.permissions.get(m.group(1))
            if perm is None:
                return 404, {"message": "Not Found"}
            return 200, {"permission": perm, "role_name": perm}
        if method == "GET" and (m := re.fullmatch(r"/issues/(\d+)", rest)):
            issue = self.issues.get(int(m.group(1)))
            return (200, issue) if issue else (404, {"message": "Not Found"})
        if method == "POST" and rest == "/pulls":
            number = 99 + len(self.calls("POST", r".*/pulls"))  # this request is recorded already
            return 201, {"number": number, "html_url": f"{self.url}/pr/{number}", "draft": body.get("draft")}
        if method == "POST" and (m := re.fullmatch(r"/issues/(\d+)/comments", rest)):
            n = len(self.calls("POST", r".*/comments"))
            return 201, {"id": n, "html_url": f"{self.url}/issues/{m.group(1)}#comment-{n}"}
        return 404, {"message": f"fake GitHub has no route for {method} {path}"}

"""The GitHub Action's steps against a local fake GitHub API, a real workspace clone and a bare "remote".

`patchjury solve` is replaced by a small script (a fake, via the action's `solve_command` setting) that
records the environment and files it could see, then writes a run outcome like the real command does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from gitrepo import git
from pj_helpers import FakeGitHub, make_git_repo

from patchjury.action.github import GitHubClient, GitHubError, truncate_body
from patchjury.action.run import main, solve_env
from patchjury.action.settings import ActionSettings
from patchjury.core.errors import PatchjuryError, UsageError

ROOT = Path(__file__).resolve().parents[2]
PAT = "ghp_pat_secret_0123456789"
RUNNER_TOKEN = "ghs_runner_secret_9876543210"
PATCH = (
    "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n"
)
ISSUE_BODY = "add(2, 2) returns 0.\n\nUntrusted: $(touch PWNED) `touch PWNED2` ${{ secrets.X }}\n"

FAKE_SOLVE = r"""
import argparse, json, os, sys
from pathlib import Path
from patchjury.core.gitops import ensure_runs_dir
from patchjury.report.outcome import RunOutcome

p = argparse.ArgumentParser()
p.add_argument("mode"); p.add_argument("patch")
for flag in ("--repo", "--issue-file", "--run-id", "--instance-id", "-n", "--traj-workers", "--max-cost", "--setup"):
    p.add_argument(flag)
p.add_argument("--model", action="append", default=[]); p.add_argument("-c", action="append", default=[])
a = p.parse_args()
repo = Path(a.repo)
run_dir = ensure_runs_dir(repo) / "runs" / a.run_id
run_dir.mkdir(parents=True)
(run_dir / "seen.json").write_text(json.dumps({
    "env": dict(os.environ), "argv": sys.argv[1:], "issue": Path(a.issue_file).read_text(),
    "git_config": (repo / ".git" / "config").read_text(),
}))
if a.mode == "crash":
    print("error: no API key for model openai/gpt-4o: set OPENAI_API_KEY", file=sys.stderr)
    sys.exit(2)
(run_dir / "chosen.patch").write_text(Path(a.patch).read_text())
(run_dir / "report.md").write_text("## patchjury report\n\nREPORT-MARKER: 3 trajectories, votes 2/1/0\n")
RunOutcome(
    run_id=a.run_id, instance_id=a.instance_id,
    status="patch" if a.mode == "patch" else "no_passing_candidate",
    title="Fix add() returning the difference", commit_message="Fix add() returning the difference\n\nadd used -.\n",
    summary="- 3 trajectories, 2 candidates; none passes its own reproduction test",
    patch_file="chosen.patch", n_trajectories=3, n_candidates=2, cost=0.42,
).save(run_dir)
"""


def _payload_issue(number: int = 3) -> dict[str, Any]:
    return {"number": number, "title": "add() subtracts!", "body": ISSUE_BODY, "state": "open"}


def _repository() -> dict[str, Any]:
    return {"full_name": "octo/widgets", "default_branch": "main"}


def labeled_event(label: str = "patchjury") -> dict[str, Any]:
    return {
        "action": "labeled",
        "label": {"name": label},
        "issue": _payload_issue(),
        "repository": _repository(),
        "sender": {"login": "maintainer"},
    }


def comment_event(body: str, association: str, user: str = "alice") -> dict[str, Any]:
    return {
        "action": "created",
        "comment": {"body": body, "author_association": association, "user": {"login": user}},
        "issue": _payload_issue(),
        "repository": _repository(),
        "sender": {"login": user},
    }


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, Path]:
    return make_workspace(tmp_path)


def make_workspace(tmp_path: Path) -> tuple[Path, Path]:
    """(checkout, bare remote): what actions/checkout leaves, including its persisted token header."""
    seed = make_git_repo(tmp_path / "seed", {"calc.py": "def add(a, b):\n    return a - b\n"})
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(remote)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    git(
        work,
        "config",
        "--local",
        "http.https://github.com/.extraheader",
        f"AUTHORIZATION: basic {RUNNER_TOKEN}",
    )
    return work, remote


def action_env(
    tmp_path: Path, fake: FakeGitHub, work: Path, event: str, payload: dict[str, Any], mode: str
) -> dict[str, str]:
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(payload))
    patch_file = tmp_path / "fix.patch"
    patch_file.write_text(PATCH)
    script = tmp_path / "fake_solve.py"
    script.write_text(FAKE_SOLVE)
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_REPOSITORY": "octo/widgets",
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_API_URL": fake.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "77",
        "GITHUB_OUTPUT": str(tmp_path / "outputs.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_TOKEN": RUNNER_TOKEN,
        "ACTIONS_RUNTIME_TOKEN": RUNNER_TOKEN + "-rt",
        "PATCHJURY_GITHUB_TOKEN": PAT,
        "PATCHJURY_MODEL": "openai/gpt-4o, anthropic/claude-x",
        "PATCHJURY_API_KEY_ENV": "OPENAI_API_KEY,ANTHROPIC_API_KEY",
        "PATCHJURY_TRAJECTORIES": "3",
        "PATCHJURY_TRAJ_WORKERS": "2",
        "PATCHJURY_MAX_COST": "2.5",
        "PATCHJURY_CONFIG": ".github/patchjury.yaml\nagent.step_limit=40",
        "OPENAI_API_KEY": "sk-test-openai",
        "UNRELATED_SECRET": "do-not-forward",
        "PATCHJURY_SOLVE_COMMAND": json.dumps([sys.executable, str(script), mode, str(patch_file)]),
    }


def seen_by_solve(work: Path) -> dict[str, Any]:
    (run_dir,) = (work / ".patchjury" / "runs").iterdir()
    return json.loads((run_dir / "seen.json").read_text())


def outputs(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "outputs.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


def test_label_opens_draft_pr_on_new_branch_and_pushes_it(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, remote = workspace
    env = action_env(tmp_path, fake_github, work, "issues", labeled_event(), "patch")
    head_before = git(work, "rev-parse", "HEAD")
    # Through the real entry point, as action.yml runs it.
    run = subprocess.run([sys.executable, "-m", "patchjury.action"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

    (pr,) = fake_github.calls("POST", "/repos/octo/widgets/pulls")
    branch = pr.body["head"]
    assert branch == "patchjury/issue-3-add-subtracts"
    assert pr.body["base"] == "main" and pr.body["draft"] is True
    assert "REPORT-MARKER" in pr.body["body"] and "Resolves #3" in pr.body["body"]
    assert pr.body["title"] == "Fix add() returning the difference"
    assert pr.headers["Authorization"] == f"Bearer {PAT}"
    (note,) = fake_github.calls("POST", "/repos/octo/widgets/issues/3/comments")
    assert "draft PR #100" in note.body["body"]

    # The branch is on the remote, one commit over main with exactly the patch; main untouched.
    assert git(remote, "rev-parse", "refs/heads/main") == head_before
    pushed = git(remote, "rev-parse", f"refs/heads/{branch}")
    assert git(remote, "rev-parse", f"{pushed}^") == head_before
    assert "+    return a + b" in git(remote, "show", pushed)
    assert "Refs #3" in git(remote, "log", "-1", "--format=%B", pushed)
    # The user's checkout is exactly as before: same HEAD, same branch, clean tree.
    assert git(work, "rev-parse", "HEAD") == head_before
    assert git(work, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(work, "status", "--porcelain") == ""
    assert outputs(tmp_path)["decision"] == "pr" and outputs(tmp_path)["branch"] == branch
    assert "REPORT-MARKER" in (tmp_path / "summary.md").read_text()

    seen = seen_by_solve(work)
    # No GitHub token reached the solve step: not in its environment, not in the repo config it sandboxes.
    values = set(seen["env"].values())
    assert not {PAT, RUNNER_TOKEN, RUNNER_TOKEN + "-rt"} & values
    assert not [k for k in seen["env"] if k.startswith(("GITHUB_", "ACTIONS_", "PATCHJURY_GITHUB"))]
    assert RUNNER_TOKEN not in seen["git_config"] and "extraheader" not in seen["git_config"]
    assert seen["env"]["OPENAI_API_KEY"] == "sk-test-openai" and "UNRELATED_SECRET" not in seen["env"]
    # Issue text arrives verbatim through a file; nothing in it was executed.
    assert "$(touch PWNED) `touch PWNED2` ${{ secrets.X }}" in seen["issue"]
    assert not list(work.glob("PWNED*")) and not list(tmp_path.glob("PWNED*"))
    argv = seen["argv"]
    assert argv[argv.index("--model") + 1] == "openai/gpt-4o" and "anthropic/claude-x" in argv
    assert argv[argv.index("-n") + 1] == "3" and argv[argv.index("--max-cost") + 1] == "2.5"
    assert argv[argv.index("--traj-workers") + 1] == "2" and "--workers" not in argv
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "-c"] == [
        ".github/patchjury.yaml",
        "agent.step_limit=40",
    ]


def test_comment_from_collaborator_without_passing_candidate_comments_instead(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, remote = workspace
    fake_github.permissions["alice"] = "write"
    payload = comment_event("/patchjury the bug is in calc.py\nlook at add()", "COLLABORATOR")
    assert main(action_env(tmp_path, fake_github, work, "issue_comment", payload, "none")) == 0

    assert fake_github.calls("GET", "/repos/octo/widgets/collaborators/alice/permission")
    assert not fake_github.calls("POST", ".*/pulls")
    (comment,) = fake_github.calls("POST", "/repos/octo/widgets/issues/3/comments")
    assert "no candidate patch passes its own reproduction test" in comment.body["body"]
    assert "REPORT-MARKER" in comment.body["body"]
    assert "patchjury/" not in git(remote, "branch", "--list")
    assert "## Note from @alice" in seen_by_solve(work)["issue"]
    assert "look at add()" in seen_by_solve(work)["issue"]
    assert outputs(tmp_path)["decision"] == "comment"


@pytest.mark.parametrize(
    ("payload", "perm", "expect_calls"),
    [
        (comment_event("/patchjury", "NONE", user="mallory"), None, 0),
        (comment_event("/patchjury", "CONTRIBUTOR", user="mallory"), "write", 0),
        (comment_event("/patchjury", "MEMBER", user="reader"), "read", 1),
        (comment_event("please /patchjury this", "OWNER"), "admin", 0),
        (labeled_event(label="bug"), None, 0),
        (
            comment_event("/patchjury", "OWNER")
            | {"issue": _payload_issue() | {"pull_request": {"url": "x"}}},
            "admin",
            0,
        ),
    ],
    ids=["non-member", "contributor", "member-read-only", "not-a-command", "other-label", "pull-request"],
)
def test_events_that_must_not_run(
    tmp_path: Path,
    fake_github: FakeGitHub,
    workspace: tuple[Path, Path],
    payload: dict[str, Any],
    perm: str | None,
    expect_calls: int,
) -> None:
    work, _ = workspace
    user = payload.get("comment", {}).get("user", {}).get("login")
    if perm and user:
        fake_github.permissions[user] = perm
    event = "issue_comment" if "comment" in payload else "issues"
    assert main(action_env(tmp_path, fake_github, work, event, payload, "patch")) == 0
    assert len(fake_github.requests) == expect_calls  # at most the permission lookup
    assert not (work / ".patchjury").exists()  # solve never ran
    assert outputs(tmp_path)["decision"] == "skipped"


def test_solve_failure_is_reported_on_the_issue(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, _ = workspace
    with pytest.raises(PatchjuryError, match="patchjury solve failed"):
        main(action_env(tmp_path, fake_github, work, "issues", labeled_event(), "crash"))
    (comment,) = fake_github.calls("POST", "/repos/octo/widgets/issues/3/comments")
    assert "could not run" in comment.body["body"] and "actions/runs/77" in comment.body["body"]
    assert not fake_github.calls("POST", ".*/pulls")
    assert outputs(tmp_path)["decision"] == "error"


def test_workflow_dispatch_fetches_the_issue(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    work, _ = workspace
    fake_github.issues[9] = {"number": 9, "title": "Dispatch me", "body": "body 9"}
    payload = {"inputs": {"issue": "9"}, "repository": _repository(), "sender": {"login": "m"}}
    assert main(action_env(tmp_path, fake_github, work, "workflow_dispatch", payload, "patch")) == 0
    assert fake_github.calls("GET", "/repos/octo/widgets/issues/9")
    (pr,) = fake_github.calls("POST", ".*/pulls")
    assert pr.body["head"] == "patchjury/issue-9-dispatch-me"


def test_github_token_names_are_never_forwarded(tmp_path: Path, fake_github: FakeGitHub) -> None:
    base = {"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": "e.json", "GITHUB_REPOSITORY": "o/r"}
    settings = ActionSettings.from_env({**base, "PATCHJURY_API_KEY_ENV": "OPENAI_API_KEY,GITHUB_TOKEN"})
    with pytest.raises(UsageError, match="GITHUB_TOKEN"):
        solve_env(settings, {"GITHUB_TOKEN": "x", "OPENAI_API_KEY": "k"})
    # A key variable that secretly holds the PR token is refused too.
    settings = ActionSettings.from_env(
        {**base, "PATCHJURY_GITHUB_TOKEN": PAT, "PATCHJURY_API_KEY_ENV": "MY_KEY"}
    )
    with pytest.raises(UsageError, match="MY_KEY holds the GitHub token"):
        solve_env(settings, {"MY_KEY": PAT})


def test_traj_workers_input_and_its_old_name() -> None:
    """`traj-workers` (the solve flag's name) is the input; the old `workers` input, when set, still wins."""
    base = {"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": "e.json", "GITHUB_REPOSITORY": "o/r"}
    assert ActionSettings.from_env({**base, "PATCHJURY_TRAJ_WORKERS": "3"}).traj_workers == 3
    old = {**base, "PATCHJURY_TRAJ_WORKERS": "2", "PATCHJURY_WORKERS": "4"}
    assert ActionSettings.from_env(old).traj_workers == 4
    assert ActionSettings.from_env({**base, "PATCHJURY_WORKERS": ""}).traj_workers is None
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    assert inputs["traj-workers"]["default"] == "2" and "deprecationMessage" in inputs["workers"]


def test_client_errors_name_the_fix(fake_github: FakeGitHub) -> None:
    fake_github.fail["POST /repos/octo/widgets/pulls"] = 403
    client = GitHubClient("octo/widgets", PAT, fake_github.url)
    with pytest.raises(GitHubError, match=r"HTTP 403.*pull-requests: write"):
        client.create_pull_request("t", "patchjury/x", "main", "body")
    with pytest.raises(PatchjuryError, match="onto itself"):
        client.create_pull_request("t", "main", "main", "body")
    assert client.permission("stranger") == "none"  # 404 = not a collaborator
    assert PAT not in repr(client)
    long = "a" * 70_000 + "TAIL"
    cut = truncate_body(long)
    assert len(cut) <= 65_000 and cut.endswith("TAIL") and "truncated by patchjury" in cut


def test_action_yml_never_interpolates_expressions_in_run_scripts() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), f"step {step.get('name')} interpolates into its script"
    assert {"token", "model", "api-key-env", "trajectories", "max-cost", "label", "command"} <= set(
        action["inputs"]
    )
    run_step = next(s for s in action["runs"]["steps"] if s.get("id") == "patchjury")
    assert 'python" -m patchjury.action' in run_step["run"]
    example = yaml.safe_load((ROOT / "docs" / "examples" / "patchjury.yml").read_text())
    for job in example["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", "")


@pytest.mark.slow
def test_action_with_the_real_solve_command(
    tmp_path: Path, fake_github: FakeGitHub, workspace: tuple[Path, Path]
) -> None:
    """The contract between the action and `patchjury solve`: flags, outcome.json, report, branch."""
    from patchjury.core.demo_repo import PRICING, TESTS, script

    work, remote = workspace
    (work / "calc.py").unlink()
    (work / "shop").mkdir()
    (work / "shop" / "__init__.py").write_text("")
    (work / "shop" / "pricing.py").write_text(PRICING)
    (work / "tests").mkdir()
    (work / "tests" / "test_pricing.py").write_text(TESTS)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "shop")
    git(work, "push", "-q", "origin", "HEAD:main")
    script_file = tmp_path / "script.yaml"
    script_file.write_text(yaml.safe_dump({"steps": script()}))
    env = action_env(tmp_path, fake_github, work, "issues", labeled_event(), "patch")
    del env["PATCHJURY_SOLVE_COMMAND"]  # the real `python -m patchjury.cli solve`
    env.update(
        PATCHJURY_MODEL="",
        PATCHJURY_TRAJECTORIES="2",
        PATCHJURY_CONFIG="\n".join(
            [
                "model.type=deterministic",
                f"model.script_path={script_file}",
                "env.type=local",
                "agent.workers=2",
            ]
        ),
    )
    assert main(env) == 0
    (pr,) = fake_github.calls("POST", "/repos/octo/widgets/pulls")
    assert pr.body["draft"] is True and pr.body["head"] == "patchjury/issue-3-add-subtracts"
    assert "passes its own reproduction test" in pr.body["body"] and "### The jury" in pr.body["body"]
    assert pr.body["title"].startswith("Fix: add() subtracts!")
    pushed = git(remote, "show", "patchjury/issue-3-add-subtracts")
    assert "+    return price - price * percent / 100" in pushed
    assert git(work, "status", "--porcelain") == ""

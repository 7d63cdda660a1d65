"""write_test, run_test (current and original code), submit, and the manifest helpers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.records import TestFile
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Tool
from patchjury.tools.registry import get_tools
from patchjury.tools.repro import list_tests, reproduced_on_original
from patchjury.tools.state import state_dir

#: A repro test for the sample's bug (add subtracts): exit 2 while the bug is there, 0 once fixed.
REPRO = "import sys\n\nfrom pkg.calc import add\n\nsys.exit(0 if add(2, 3) == 5 else 2)\n"

FIX = {
    "command": "str_replace",
    "path": "pkg/calc.py",
    "old_str": "def add(a, b):\n    return a - b",
    "new_str": "def add(a, b):\n    return a + b",
}


def test_write_test_enforces_the_convention(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    wt = tools["write_test"]
    no_exit = wt.run(env, {"content": "from pkg.calc import add\nassert add(2, 3) == 5\n"})
    assert no_exit.error and "exit 2" in no_exit.text.replace("exits with code 2", "exit 2")
    syntax = wt.run(env, {"content": "import sys\nsys.exit(2\n"})
    assert syntax.error and "syntax error" in syntax.text
    repo_file = wt.run(env, {"content": REPRO, "path": "pkg/calc.py"})
    assert repo_file.error and "must be new files" in repo_file.text
    not_py = wt.run(env, {"content": REPRO, "path": "check.sh"})
    assert not_py.error and ".py" in not_py.text
    assert list_tests(env, config) == []  # nothing written by the refused calls
    ok = wt.run(env, {"content": REPRO})
    assert not ok.error and env.read_file("reproduce_issue.py") == REPRO


def test_run_test_distinguishes_reproduced_and_resolved(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    tools["write_test"].run(env, {"content": REPRO})
    before = tools["run_test"].run(env, {"on_original": True})
    assert not before.error
    assert "original code (base commit): exit 2: issue reproduced" in before.text
    assert before.data["results"]["reproduce_issue.py"]["reproduced"] is True
    assert not tools["edit"].run(env, FIX).error
    after = tools["run_test"].run(env, {"on_original": True})
    assert "original code (base commit): exit 2: issue reproduced" in after.text
    assert "current code (your changes): exit 0: resolved" in after.text
    assert after.data["results"]["reproduce_issue.py"] == {
        "exit_current": 0,
        "exit_original": 2,
        "reproduced": True,
    }
    # The original-code run put the fix back and left nothing pending.
    assert "return a + b" in env.read_file("pkg/calc.py")
    assert env.execute(f"ls {state_dir(env, config)}").output.split().count("orig.pending") == 0
    assert env.execute("git status --porcelain").output.split() == [
        "M",
        "pkg/calc.py",
        "??",
        "reproduce_issue.py",
    ]
    assert reproduced_on_original(env, config) is True


def test_run_test_flags_a_test_that_does_not_reproduce(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    tools["write_test"].run(
        env, {"content": "import sys\nfrom pkg.calc import sub\nsys.exit(0 if sub(3, 2) == 1 else 2)\n"}
    )
    obs = tools["run_test"].run(env, {"on_original": True})
    assert "exit 0: resolved" in obs.text and "does NOT reproduce" in obs.text
    assert reproduced_on_original(env, config) is False


def test_run_test_reports_broken_tests_and_new_modules(env: LocalEnv, tools: dict[str, Tool]) -> None:
    tools["edit"].run(env, {"command": "create", "path": "pkg/extra.py", "file_text": "VALUE = 5\n"})
    tools["write_test"].run(
        env, {"content": "import sys\nfrom pkg.extra import VALUE\nsys.exit(0 if VALUE == 5 else 2)\n"}
    )
    obs = tools["run_test"].run(env, {"on_original": True})
    # pkg/extra.py is new: on the original code the import fails (exit 1) -> broken there, resolved now.
    assert "original code (base commit): exit 1: broken test" in obs.text
    assert "current code (your changes): exit 0: resolved" in obs.text
    assert "ModuleNotFoundError" in obs.text
    assert env.read_file("pkg/extra.py") == "VALUE = 5\n"  # the new file came back


def test_run_test_current_only_and_unknown_path(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    none_yet = tools["run_test"].run(env, {})
    assert none_yet.error and "write_test" in none_yet.text
    tools["write_test"].run(env, {"content": REPRO, "path": "repro_add.py"})
    cur = tools["run_test"].run(env, {"path": "repro_add.py"})
    assert "exit 2: issue reproduced" in cur.text and "original code" not in cur.text
    assert reproduced_on_original(env, config) is None  # never run on the original code
    other = tools["run_test"].run(env, {"path": "pkg/calc.py"})
    assert other.error and "not a reproduction test" in other.text


def test_run_test_timeout_is_a_broken_test(env: LocalEnv, config: ToolsConfig) -> None:
    wt, rt = get_tools(["write_test", "run_test"], config=config.model_copy(update={"test_timeout": 1}))
    wt.run(env, {"content": "import sys, time\ntime.sleep(30)\nsys.exit(2)\n"})
    obs = rt.run(env, {})
    assert "broken test (timed out)" in obs.text


def test_rewriting_a_test_invalidates_its_original_result(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    tools["write_test"].run(env, {"content": REPRO})
    tools["run_test"].run(env, {"on_original": True})
    assert reproduced_on_original(env, config) is True
    tools["write_test"].run(env, {"content": REPRO + "# changed\n"})
    assert reproduced_on_original(env, config) is None


def test_submit_excludes_tests_and_refuses_empty(env: LocalEnv, tools: dict[str, Tool]) -> None:
    tools["write_test"].run(env, {"content": REPRO})
    empty = tools["submit"].run(env, {})
    assert empty.error and not empty.submitted and "nothing to submit" in empty.text
    tools["run_test"].run(env, {"on_original": True})
    tools["edit"].run(env, FIX)
    obs = tools["submit"].run(env, {})
    assert obs.submitted and not obs.error
    patch = obs.data["patch"]
    assert "diff --git a/pkg/calc.py b/pkg/calc.py" in patch and "+    return a + b" in patch
    assert "reproduce_issue.py" not in patch
    assert [TestFile.model_validate(t) for t in obs.data["tests"]] == [
        TestFile(path="reproduce_issue.py", content=REPRO, command=obs.data["tests"][0]["command"])
    ]
    assert obs.data["reproduced"] is True and obs.data["files"] == ["pkg/calc.py"]
    json.dumps(obs.data)  # the runner stores it as JSON


def test_submit_can_require_a_test(env: LocalEnv, config: ToolsConfig) -> None:
    edit, submit = get_tools(
        ["edit", "submit"], config=config.model_copy(update={"require_test_to_submit": True})
    )
    edit.run(env, FIX)
    obs = submit.run(env, {})
    assert obs.error and "write_test" in obs.text


def test_deleted_test_is_not_listed_nor_excluded(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    tools["write_test"].run(env, {"content": REPRO, "path": "t1.py"})
    tools["write_test"].run(env, {"content": REPRO, "path": "t2.py"})
    env.execute("rm t1.py")
    assert [t.path for t in list_tests(env, config)] == ["t2.py"]


def test_original_run_works_after_the_agent_committed(env: LocalEnv, tools: dict[str, Tool]) -> None:
    tools["write_test"].run(env, {"content": REPRO})
    tools["edit"].run(env, FIX)
    env.execute("git -c user.name=a -c user.email=a@b commit -qam fix")
    obs = tools["run_test"].run(env, {"on_original": True})
    assert obs.data["results"]["reproduce_issue.py"] == {
        "exit_current": 0,
        "exit_original": 2,
        "reproduced": True,
    }
    assert "+    return a + b" in tools["submit"].run(env, {}).data["patch"]


def test_interrupted_original_run_is_repaired_before_submit(
    env: LocalEnv, tools: dict[str, Tool], config: ToolsConfig
) -> None:
    """A run killed after reverting the changes (state: saved patch + pending marker) loses nothing."""
    tools["write_test"].run(env, {"content": REPRO})
    tools["edit"].run(env, FIX)
    tools["edit"].run(env, {"command": "create", "path": "pkg/new.py", "file_text": "NEW = 1\n"})
    state = state_dir(env, config)
    saved = env.execute(
        f"mkdir -p {state} && git add -N pkg/new.py && git diff --binary {env.base_commit} -- pkg > {state}/orig.patch "
        f"&& git apply -R --binary {state}/orig.patch && touch {state}/orig.pending && git status --porcelain"
    )
    assert saved.exit_code == 0 and "pkg/calc.py" not in saved.output  # the changes are gone from the tree
    obs = tools["submit"].run(env, {})
    assert obs.submitted and obs.data["files"] == ["pkg/calc.py", "pkg/new.py"]
    assert "return a + b" in env.read_file("pkg/calc.py")


def test_parallel_worktrees_of_one_repo_keep_their_own_changes(
    make_repo: Callable[[dict[str, str]], Path], sample_files: dict[str, str], config: ToolsConfig
) -> None:
    repo = make_repo(sample_files)
    envs = [LocalEnv(LocalEnvConfig(repo=repo, use_worktree=True)) for _ in range(2)]
    try:
        edit, write_test, run_test = get_tools(["edit", "write_test", "run_test"], config=config)
        fixes = ["return a + b", "return b + a"]
        for env, fix in zip(envs, fixes, strict=True):
            write_test.run(env, {"content": REPRO})
            edit.run(env, {**FIX, "new_str": f"def add(a, b):\n    {fix}"})
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda e: run_test.run(e, {"on_original": True}), envs))
        for env, fix, obs in zip(envs, fixes, results, strict=True):
            assert obs.data["results"]["reproduce_issue.py"]["exit_original"] == 2
            assert obs.data["results"]["reproduce_issue.py"]["exit_current"] == 0
            assert fix in env.read_file("pkg/calc.py")
    finally:
        for env in envs:
            env.close()


def test_original_run_with_tracked_files_matching_gitignore(
    make_repo: Callable[[dict[str, str]], Path],
    sample_files: dict[str, str],
    tools: dict[str, Tool],
    request: pytest.FixtureRequest,
) -> None:
    """A tracked file that .gitignore matches (flask has such) is neither lost nor reported as deleted."""
    repo = make_repo(sample_files)
    (repo / "keep.log").write_text("tracked although ignored\n")  # .gitignore has *.log
    for args in (["add", "-f", "keep.log"], ["commit", "-qm", "tracked log"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args], cwd=repo, check=True
        )
    env = LocalEnv(LocalEnvConfig(repo=repo, use_worktree=False))
    request.addfinalizer(env.close)
    assert "keep.log" in env.execute("git ls-files").output
    tools["write_test"].run(env, {"content": REPRO})
    tools["edit"].run(env, FIX)
    obs = tools["run_test"].run(env, {"on_original": True})
    assert obs.data["results"]["reproduce_issue.py"] == {
        "exit_current": 0,
        "exit_original": 2,
        "reproduced": True,
    }
    assert env.read_file("keep.log") == "tracked although ignored\n"
    status = env.execute("git status --porcelain --ignored").output.split("\n")
    assert sorted(line for line in status if line) == [" M pkg/calc.py", "?? reproduce_issue.py"]

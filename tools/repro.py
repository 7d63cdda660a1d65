"""Reproduction-test bookkeeping and execution, with all state kept inside the Env.

Convention (also stated in the tool descriptions and the agent prompt): a reproduction test is a standalone
script; exit 0 = the issue is resolved, exit 2 = the issue is still reproduced, anything else = a broken test.

The manifest `<state>/tests.json` lists the test paths (relative to the repo root), the interpreter that runs
them, and the exit codes of their last runs on the original (base-commit) code and on the current code.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from envs.protocol import Env
from patchjury.records import TestFile
from tools.base import q, run_checked
from tools.config import ToolsConfig
from tools.errors import ToolExecutionError, ToolStateError
from tools.state import read_json, state_dir, write_json

STASH_MESSAGE = "patchjury-original-run"
GIT_ID = "-c user.name=patchjury -c user.email=patchjury@localhost"
EXIT_RE = re.compile(r"__PJ_EXIT__=(-?\d+) restored=(\d)")


@dataclass
class TestRun:
    """One run of one test."""

    __test__ = False
    exit_code: int
    output: str
    timed_out: bool
    no_changes: bool = False
    """Original-code run only: the working tree had no changes besides the tests (original = current)."""


def describe_exit(code: int, timed_out: bool = False) -> str:
    """What an exit code means under the convention."""
    if timed_out:
        return f"exit {code}: broken test (timed out)"
    if code == 0:
        return "exit 0: resolved"
    if code == 2:
        return "exit 2: issue reproduced"
    return f"exit {code}: broken test"


# -- manifest ------------------------------------------------------------------------------------------------
def _manifest_path(env: Env, config: ToolsConfig) -> str:
    return f"{state_dir(env, config)}/tests.json"


def load_manifest(env: Env, config: ToolsConfig | None = None) -> dict[str, Any]:
    """The manifest ({"tests": {path: entry}, "python": str | None}); empty when none was written yet."""
    config = config or ToolsConfig()
    data = read_json(env, _manifest_path(env, config))
    if data is None:
        return {"version": 1, "tests": {}, "python": None}
    if not isinstance(data, dict) or not isinstance(data.get("tests"), dict):
        raise ToolStateError(
            f"test manifest {_manifest_path(env, config)} has an unexpected shape; delete it"
        )
    return data


def save_manifest(env: Env, data: dict[str, Any], config: ToolsConfig | None = None) -> None:
    write_json(env, _manifest_path(env, config or ToolsConfig()), data)


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8", errors="surrogateescape")).hexdigest()[:16]


def python_command(env: Env, config: ToolsConfig, manifest: dict[str, Any]) -> str:
    """`python` if the Env has it, else `python3` (recorded in the manifest; detected once)."""
    if manifest.get("python"):
        return str(manifest["python"])
    found = env.execute("command -v python >/dev/null && echo python || echo python3", timeout=30)
    manifest["python"] = found.output.strip().splitlines()[-1] if found.output.strip() else "python3"
    return str(manifest["python"])


def test_command(path: str, python: str) -> str | None:
    """TestFile.command for a path: None when the default `python <path>` applies."""
    return None if python == "python" else f"{python} {path}"


def list_tests(env: Env, config: ToolsConfig | None = None) -> list[TestFile]:
    """The reproduction tests written in this Env (files deleted since are left out)."""
    config = config or ToolsConfig()
    manifest = load_manifest(env, config)
    tests = []
    for path in sorted(manifest["tests"]):
        try:
            content = env.read_file(path)
        except OSError:
            continue
        tests.append(TestFile(path=path, content=content, command=manifest["tests"][path].get("command")))
    return tests


def reproduced_on_original(env: Env, config: ToolsConfig | None = None) -> bool | None:
    """Whether the tests reproduced the issue (exit 2) on the original code.

    None when no current test was run on the original code since it last changed; True when every test that
    was run there exited 2; False when any of them exited otherwise.
    """
    config = config or ToolsConfig()
    manifest = load_manifest(env, config)
    results = []
    for path, entry in manifest["tests"].items():
        if entry.get("original_exit") is None:
            continue
        try:
            content = env.read_file(path)
        except OSError:
            continue
        if entry.get("original_hash") == content_hash(content):
            results.append(entry["original_exit"] == 2)
    return all(results) if results else None


# -- running ---------------------------------------------------------------------------------------------------
def base_commit(env: Env, config: ToolsConfig, manifest: dict[str, Any]) -> str:
    """The Env's base commit (its `base_commit` attribute, else HEAD when first asked, recorded)."""
    base = getattr(env, "base_commit", None) or manifest.get("base")
    if not base:
        base = run_checked(env, "git rev-parse HEAD", config, "reading HEAD").output.strip()
        manifest["base"] = base
    return str(base)


def _pyc_prefix(env: Env, config: ToolsConfig, which: str) -> str:
    return f"{state_dir(env, config)}/pyc-{which}"


def recover_stash_script(workdir: str) -> str:
    """Shell lines that pop a stash left behind by an interrupted original-code run."""
    return (
        f"cd {q(workdir)} || exit 97; "
        f"if git stash list -1 --format=%s 2>/dev/null | grep -q {STASH_MESSAGE}; then git {GIT_ID} stash pop -q; fi; "
    )


def recover_stash(env: Env, config: ToolsConfig) -> None:
    """Restore the agent's changes if an original-code run was interrupted after stashing them."""
    run_checked(env, recover_stash_script(env.workdir) + "true", config, "restoring stashed changes")


def run_current(env: Env, config: ToolsConfig, path: str, command: str) -> TestRun:
    """Run a test on the current code (stale bytecode of changed files dropped first)."""
    prefix = _pyc_prefix(env, config, "cur")
    root = posixpath.normpath(env.workdir)
    script = (
        recover_stash_script(root) + f"P={q(prefix)}; W={q(root)}; "
        "{ git diff --name-only HEAD -- '*.py'; git ls-files -o --exclude-standard -- '*.py'; } 2>/dev/null "
        '| while IFS= read -r f; do rm -f "$P$W/${f%.py}".*.pyc; done; '
        f'PYTHONPYCACHEPREFIX="$P" timeout -k 5 {config.test_timeout:g} bash -c {q(command)} < /dev/null; '
        'code=$?; echo; echo "__PJ_EXIT__=$code restored=1"'
    )
    return _finish(env, config, script, path)


def run_original(
    env: Env, config: ToolsConfig, path: str, command: str, keep: list[str], base: str
) -> TestRun:
    """Run a test on the original code: stash every change except the tests `keep`, run, restore."""
    prefix = _pyc_prefix(env, config, "orig")
    excludes = " ".join(q(f":(exclude){p}") for p in keep)
    script = (
        recover_stash_script(env.workdir)
        + f'[ "$(git rev-parse HEAD)" = {q(base)} ] || {{ echo "__PJ_HEAD_MOVED__=$(git rev-parse HEAD)"; exit 96; }}; '
        "before=$(git rev-parse -q --verify refs/stash); "
        f"git {GIT_ID} stash push -q -u -m {STASH_MESSAGE} -- . {excludes} || {{ echo __PJ_STASH_FAILED__; exit 95; }}; "
        "after=$(git rev-parse -q --verify refs/stash); "
        '[ "$before" = "$after" ] && echo __PJ_NO_CHANGES__; '
        f"PYTHONPYCACHEPREFIX={q(prefix)} timeout -k 5 {config.test_timeout:g} bash -c {q(command)} < /dev/null; "
        "code=$?; restored=1; "
        'if [ "$before" != "$after" ]; then '
        f"git checkout -q -- . {excludes} 2>/dev/null; "
        f"if ! git {GIT_ID} stash pop -q 2>/dev/null; then "
        "git ls-tree -r -z --name-only 'refs/stash^3' 2>/dev/null | xargs -0 -r rm -f --; "
        f"git checkout -q -- . {excludes} 2>/dev/null; git {GIT_ID} stash pop -q || restored=0; fi; fi; "
        'echo; echo "__PJ_EXIT__=$code restored=$restored"'
    )
    return _finish(env, config, script, path)


def _finish(env: Env, config: ToolsConfig, script: str, path: str) -> TestRun:
    result = env.execute(script, timeout=config.test_timeout + config.git_timeout)
    out = result.output
    if result.exit_code == 96:
        moved = out.rsplit("__PJ_HEAD_MOVED__=", 1)[-1].strip()
        raise ToolExecutionError(
            f"HEAD moved from the base commit to {moved[:12]} (a commit was made), so the original code cannot "
            "be checked out safely. Undo the commit but keep the changes with `git reset --soft "
            f"{getattr(env, 'base_commit', 'BASE')}`, then run the test again"
        )
    if result.exit_code == 95:
        raise ToolExecutionError(f"could not set the changes aside to run the original code: {out[-1500:]}")
    matches = list(EXIT_RE.finditer(out))
    match = matches[-1] if matches else None
    if match is None:
        raise ToolExecutionError(
            f"running {path} did not finish (exit {result.exit_code}, timed out: {result.timed_out}): {out[-1500:]}"
        )
    if match.group(2) != "1":
        raise ToolExecutionError(
            "the original-code run could not restore your changes automatically; they are kept in `git stash`: "
            f"run `git stash pop` and resolve the conflict. Output: {out[-1500:]}"
        )
    code = int(match.group(1))
    body = out[: match.start()].replace("__PJ_NO_CHANGES__\n", "").rstrip("\n")
    return TestRun(
        exit_code=code, output=body, timed_out=code in (124, 137), no_changes="__PJ_NO_CHANGES__" in out
    )

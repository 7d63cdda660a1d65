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

from patchjury.envs.protocol import Env
from patchjury.records import TestFile
from patchjury.tools.base import q, run_checked
from patchjury.tools.config import ToolsConfig
from patchjury.tools.errors import ToolExecutionError, ToolStateError
from patchjury.tools.state import read_json, state_dir, write_json

#: Never part of the saved changes (build junk that a repo without a .gitignore would carry along).
IGNORED_SPECS = [":(exclude,glob)**/__pycache__/**", ":(exclude,glob)**/*.pyc"]
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


def _state_q(env: Env, config: ToolsConfig) -> str:
    return q(state_dir(env, config))


def recover_script(env: Env, config: ToolsConfig) -> str:
    """Shell lines re-applying the agent's changes if an original-code run was interrupted mid-way."""
    return (
        f"cd {q(env.workdir)} || exit 97; S={_state_q(env, config)}; "
        'if [ -f "$S/orig.pending" ]; then '
        'if git apply --binary --check "$S/orig.patch" 2>/dev/null; then git apply --binary "$S/orig.patch" || exit 94; fi; '
        'rm -f "$S/orig.pending"; fi; '
    )


def recover_changes(env: Env, config: ToolsConfig) -> None:
    """Restore the agent's changes if an original-code run was interrupted after setting them aside."""
    run_checked(env, recover_script(env, config) + "true", config, "restoring changes set aside")


def run_current(env: Env, config: ToolsConfig, path: str, command: str) -> TestRun:
    """Run a test on the current code (stale bytecode of changed files dropped first)."""
    prefix = _pyc_prefix(env, config, "cur")
    root = posixpath.normpath(env.workdir)
    script = (
        recover_script(env, config) + f"P={q(prefix)}; W={q(root)}; "
        "{ git diff --name-only HEAD -- '*.py'; git ls-files -o --exclude-standard -- '*.py'; } 2>/dev/null "
        '| while IFS= read -r f; do rm -f "$P$W/${f%.py}".*.pyc; done; '
        f'PYTHONPYCACHEPREFIX="$P" timeout -k 5 {config.test_timeout:g} bash -c {q(command)} < /dev/null; '
        'code=$?; echo; echo "__PJ_EXIT__=$code restored=1"'
    )
    return _finish(env, config, script, path)


def run_original(
    env: Env, config: ToolsConfig, path: str, command: str, keep: list[str], base: str
) -> TestRun:
    """Run a test on the original code: every change except the tests `keep` is saved as a binary patch
    against the base commit, reverse-applied, the test runs, and the patch is applied again.

    All of it stays in this checkout (no shared stash), so parallel worktrees of one repository are safe;
    an interrupted run is repaired by the next run_test or submit (recover_script).
    """
    prefix = _pyc_prefix(env, config, "orig")
    specs = [f":(exclude){p}" for p in keep] + IGNORED_SPECS
    excludes = " ".join(q(x) for x in specs)
    b = q(base)
    script = (
        recover_script(env, config)
        # Resolve the real index before exporting GIT_INDEX_FILE (an empty value would still be honoured),
        # and start from a copy of it, so tracked files matching .gitignore stay tracked; `cp -p` keeps the
        # index mtime, which git's racy-clean check needs to see same-size edits made in the same second.
        + 'mkdir -p "$S"; idx="$(env -u GIT_INDEX_FILE git rev-parse --git-path index)"; '
        'export GIT_INDEX_FILE="$S/orig-index"; cp -p "$idx" "$GIT_INDEX_FILE" || { echo __PJ_SAVE_FAILED__; exit 95; }; '
        f"git add -A -- . {excludes} && git diff --cached --binary --no-color --no-ext-diff --no-renames "
        f'{b} -- . {excludes} > "$S/orig.patch" || {{ echo __PJ_SAVE_FAILED__; exit 95; }}; '
        'unset GIT_INDEX_FILE; rm -f "$S/orig-index"; changed=0; '
        'if [ -s "$S/orig.patch" ]; then touch "$S/orig.pending"; '
        'git apply -R --binary "$S/orig.patch" || { rm -f "$S/orig.pending"; echo __PJ_REVERT_FAILED__; exit 95; }; '
        "changed=1; else echo __PJ_NO_CHANGES__; fi; "
        f"PYTHONPYCACHEPREFIX={q(prefix)} timeout -k 5 {config.test_timeout:g} bash -c {q(command)} < /dev/null; "
        "code=$?; restored=1; "
        'if [ $changed = 1 ]; then if ! git apply --binary "$S/orig.patch" 2>/dev/null; then '
        # The test changed files the patch touches: put those back to the base commit, then apply again.
        'git apply --numstat "$S/orig.patch" | cut -f3- | while IFS= read -r p; do '
        f'if git cat-file -e {b}:"$p" 2>/dev/null; then git checkout -q {b} -- "$p"; else rm -f -- "$p"; fi; done; '
        'git apply --binary "$S/orig.patch" || restored=0; fi; '
        '[ $restored = 1 ] && rm -f "$S/orig.pending"; fi; '
        'echo; echo "__PJ_EXIT__=$code restored=$restored"'
    )
    return _finish(env, config, script, path)


def _finish(env: Env, config: ToolsConfig, script: str, path: str) -> TestRun:
    result = env.execute(script, timeout=config.test_timeout + config.git_timeout)
    out = result.output
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
            "the original-code run could not re-apply your changes automatically; they are saved as a patch in "
            f"{state_dir(env, config)}/orig.patch: apply it with `git apply --binary <that file>` after restoring "
            f"the files it touches. Output: {out[-1500:]}"
        )
    code = int(match.group(1))
    body = out[: match.start()].replace("__PJ_NO_CHANGES__\n", "").rstrip("\n")
    return TestRun(
        exit_code=code, output=body, timed_out=code in (124, 137), no_changes="__PJ_NO_CHANGES__" in out
    )

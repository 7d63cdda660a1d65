"""Grading: the test command for an instance, and FAIL_TO_PASS / PASS_TO_PASS checks on a parsed log.

This module (with envs.swebench.evaluate) is the only place that reads gold fields (test_patch,
FAIL_TO_PASS, PASS_TO_PASS, eval_script). The rules follow the official SWE-bench harness: a test passes when
its status is PASSED or XFAIL, fails when FAILED/ERROR or absent from the log (SKIPPED is neither), and an
instance is resolved when every FAIL_TO_PASS and every PASS_TO_PASS test passes.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from patchjury.envs.swebench.errors import RecipeMissing
from patchjury.envs.swebench.instances import SWEInstance
from patchjury.envs.swebench.parsers import ERROR, FAILED, PASSED, XFAIL, get_parser, parser_name_for
from patchjury.envs.swebench.recipes import Recipe

START_TEST_OUTPUT = ">>>>> Start Test Output"
END_TEST_OUTPUT = ">>>>> End Test Output"
#: Files in a test_patch that are data, not tests to run (as in the official harness).
NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml")
#: Repos graded "fail only" (a test counts as failing only when the log says FAILED).
FAIL_ONLY_EVAL_TYPE = "fail_only"
OFFICIAL_ACTIVATE = "source /opt/miniconda3/bin/activate && conda activate testbed"

_DIFF_HEADER = re.compile(r"^diff --git a/.* b/(.*)$", re.M)


def touched_files(test_patch: str) -> list[str]:
    """Paths a test_patch touches (new side), in order."""
    return [p.strip().strip('"') for p in _DIFF_HEADER.findall(test_patch)]


def get_test_directives(instance: SWEInstance, style: str = "auto") -> list[str]:
    """What to pass to the test command: test file paths, or dotted modules for django's runtests.py."""
    if style == "none":
        return []
    files = [f for f in touched_files(instance.test_patch) if not f.endswith(NON_TEST_EXTS)]
    if resolve_directives(style, instance.repo) == "django_modules":
        return [django_module_label(f) for f in files]
    return files


def resolve_directives(style: str, repo: str) -> str:
    """A recipe's `directives` with `auto` resolved: `django_modules` for django/django, else `paths`."""
    if style == "auto":
        return "django_modules" if repo == "django/django" else "paths"
    return style


def django_module_label(path: str) -> str:
    """The label django's runtests.py takes for a test file: `tests/a/test_b.py` -> `a.test_b`."""
    path = path[: -len(".py")] if path.endswith(".py") else path
    path = path[len("tests/") :] if path.startswith("tests/") else path
    return path.replace("/", ".")


def eval_script_test_command(eval_script: str | None) -> str | None:
    """The command(s) between the Start/End Test Output markers of an official eval_script."""
    if not eval_script or START_TEST_OUTPUT not in eval_script:
        return None
    lines = eval_script.splitlines()
    start = next(i for i, line in enumerate(lines) if START_TEST_OUTPUT in line)
    body = []
    for line in lines[start + 1 :]:
        if END_TEST_OUTPUT in line:
            break
        body.append(line)
    cmd = "\n".join(body).strip()
    return cmd or None


def eval_script_exports(eval_script: str | None) -> list[str]:
    """`export X=...` lines of an eval_script's preamble (locale settings for django, for example)."""
    if not eval_script:
        return []
    head = eval_script.split(START_TEST_OUTPUT, 1)[0]
    return [line.strip() for line in head.splitlines() if line.strip().startswith("export ")]


def build_test_command(instance: SWEInstance, recipe: Recipe | None, official_image: bool = False) -> str:
    """The shell command that runs the instance's tests, from the repo root.

    Local builds: the recipe's `test_cmd` plus the test_patch's directives, else the eval_script's command.
    Official images: the eval_script's command (else the recipe's) inside the image's conda env `testbed`.
    """
    from_script = eval_script_test_command(instance.eval_script)
    from_recipe = None
    if recipe is not None and recipe.test_cmd:
        directives = get_test_directives(instance, recipe.directives)
        from_recipe = " ".join([recipe.test_cmd, *(shlex.quote(d) for d in directives)])
    cmd = (from_script or from_recipe) if official_image else (from_recipe or from_script)
    if cmd is None:
        raise RecipeMissing(
            f"{instance.instance_id}: no test command: the instance has no eval_script and the recipe sets no "
            "test_cmd; add `test_cmd` to the recipe"
        )
    if official_image:
        return "\n".join([OFFICIAL_ACTIVATE, *eval_script_exports(instance.eval_script), cmd])
    return cmd


def parse_test_log(instance: SWEInstance, log: str, recipe: Recipe | None) -> tuple[str, dict[str, str]]:
    """(parser name, status map) for a test log."""
    name = parser_name_for(instance.repo, instance.log_parser, recipe.log_parser if recipe else None)
    return name, get_parser(name)(log)


def _passed(name: str, status_map: dict[str, str]) -> bool:
    return status_map.get(name) in (PASSED, XFAIL)


def _failed(name: str, status_map: dict[str, str], fail_only: bool) -> bool:
    if fail_only:
        return status_map.get(name) == FAILED
    return name not in status_map or status_map[name] in (FAILED, ERROR)


def get_tests_status(instance: SWEInstance, status_map: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    """Official `tests_status`: success/failure lists for FAIL_TO_PASS and PASS_TO_PASS (and the two unused
    *_TO_FAIL groups, empty)."""
    fail_only = (instance.eval_type or "") == FAIL_ONLY_EVAL_TYPE
    out: dict[str, dict[str, list[str]]] = {}
    for key, names in (("FAIL_TO_PASS", instance.FAIL_TO_PASS), ("PASS_TO_PASS", instance.PASS_TO_PASS)):
        success: list[str] = []
        failure: list[str] = []
        for name in names:
            if fail_only:
                (failure if _failed(name, status_map, True) else success).append(name)
            elif _passed(name, status_map):
                success.append(name)
            elif _failed(name, status_map, False):
                failure.append(name)
        out[key] = {"success": success, "failure": failure}
    out["FAIL_TO_FAIL"] = {"success": [], "failure": []}
    out["PASS_TO_FAIL"] = {"success": [], "failure": []}
    return out


def _ratio(group: dict[str, list[str]]) -> float:
    total = len(group["success"]) + len(group["failure"])
    return 1.0 if total == 0 else len(group["success"]) / total


def resolution(status: dict[str, dict[str, list[str]]]) -> str:
    """`RESOLVED_FULL`, `RESOLVED_PARTIAL` or `RESOLVED_NO`, as the official harness names them."""
    f2p, p2p = _ratio(status["FAIL_TO_PASS"]), _ratio(status["PASS_TO_PASS"])
    if f2p == 1 and p2p == 1:
        return "RESOLVED_FULL"
    if 0 < f2p < 1 and p2p == 1:
        return "RESOLVED_PARTIAL"
    return "RESOLVED_NO"


def empty_report(instance_id: str, model_patch: str | None) -> dict[str, Any]:
    """The report skeleton with the official keys."""
    return {
        "patch_is_None": model_patch is None,
        "patch_exists": bool(model_patch and model_patch.strip()),
        "patch_successfully_applied": False,
        "resolved": False,
        "instance_id": instance_id,
    }

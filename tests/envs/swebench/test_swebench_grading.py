"""Recipes, repo cache, test commands/directives and the grading rules (no Docker needed)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchjury.cli import app
from patchjury.envs.swebench.errors import RecipeError, RecipeMissing, RepoCacheError
from patchjury.envs.swebench.grading import (
    build_test_command,
    eval_script_test_command,
    get_test_directives,
    get_tests_status,
    resolution,
)
from patchjury.envs.swebench.instances import SWEInstance, load_instances
from patchjury.envs.swebench.recipes import DEFAULT_RECIPES, get_recipe, load_recipes
from patchjury.envs.swebench.repos import resolve_repo

RECIPES = """
repos:
  sympy/sympy:
    python: "3.9"
    install: ["pip install -e ."]
    test_cmd: bin/test -C --verbose
    env: {PATH: "/opt/venv/bin:$PATH"}
    versions:
      "1.1*": {python: "3.11"}
      "1.7": {}
      "0.7": {unsupported: "needs Python 2"}
  pallets/flask:
    install: ["pip install -e ."]
"""

TEST_PATCH = (
    "diff --git a/tests/auth_tests/test_validators.py b/tests/auth_tests/test_validators.py\n--- a\n+++ b\n"
    "diff --git a/tests/validators/valid_urls.txt b/tests/validators/valid_urls.txt\n--- a\n+++ b\n"
)


def _inst(**kw: object) -> SWEInstance:
    base = {"instance_id": "o__n-1", "repo": "o/n", "base_commit": "a" * 40, "test_patch": TEST_PATCH}
    return SWEInstance.model_validate(base | kw)


def test_recipes_merge_versions_and_report_missing(tmp_path: Path) -> None:
    path = tmp_path / "recipes.yaml"
    path.write_text(RECIPES)
    r = get_recipe("sympy/sympy", "1.7", path)
    assert r.python == "3.9" and r.suite == "bullseye" and r.setup_commands() == ["pip install -e ."]
    assert r.resolved_env()["PATH"].startswith("/opt/venv/bin:/usr/local/sbin:")
    assert get_recipe("sympy/sympy", "1.12", path).suite == "bookworm"  # glob override
    assert get_recipe("pallets/flask", "2.3", path).test_cmd is None  # no versions: any version
    with pytest.raises(RecipeMissing, match="needs Python 2"):
        get_recipe("sympy/sympy", "0.7", path)
    with pytest.raises(RecipeMissing, match=r"version '1.5'.*known versions"):
        get_recipe("sympy/sympy", "1.5", path)
    with pytest.raises(RecipeMissing, match="no install recipe for psf/requests"):
        get_recipe("psf/requests", "2.4", path)
    path.write_text("repos:\n  a/b:\n    pyhton: '3.9'\n")
    with pytest.raises(RecipeError, match="pyhton"):
        get_recipe("a/b", "", path)


def test_bundled_recipes_file_is_valid() -> None:
    assert "patchjury-tests/tinycalc" in load_recipes(DEFAULT_RECIPES).repos


def test_directives_and_test_commands() -> None:
    dj = _inst(repo="django/django")
    assert get_test_directives(dj) == ["auth_tests.test_validators"]  # data files dropped, dotted module
    assert get_test_directives(_inst()) == ["tests/auth_tests/test_validators.py"]
    assert get_test_directives(_inst(), "none") == []
    script = "#!/bin/bash\nexport LANG=C.UTF-8\n: '>>>>> Start Test Output'\npytest -rA t.py\n: '>>>>> End Test Output'\n"
    assert eval_script_test_command(script) == "pytest -rA t.py"
    inst = _inst(eval_script=script)
    assert build_test_command(inst, None) == "pytest -rA t.py"
    official = build_test_command(inst, None, official_image=True)
    assert official.splitlines()[0].startswith("source /opt/miniconda3/bin/activate")
    assert "export LANG=C.UTF-8" in official and official.endswith("pytest -rA t.py")
    recipe = get_recipe("patchjury-tests/tinycalc", "0.1")
    assert build_test_command(inst, recipe) == "python3 -m unittest -v tests/auth_tests/test_validators.py"
    with pytest.raises(RecipeMissing, match="no test command"):
        build_test_command(_inst(), None)


def test_grading_rules_match_the_official_harness() -> None:
    inst = _inst(FAIL_TO_PASS=["a", "b"], PASS_TO_PASS=["c", "d", "e"])
    status = get_tests_status(
        inst, {"a": "PASSED", "b": "XFAIL", "c": "PASSED", "d": "SKIPPED", "e": "PASSED"}
    )
    assert status["FAIL_TO_PASS"] == {"success": ["a", "b"], "failure": []}
    assert status["PASS_TO_PASS"] == {"success": ["c", "e"], "failure": []}  # SKIPPED is neither
    assert resolution(status) == "RESOLVED_FULL"
    partial = get_tests_status(
        inst, {"a": "PASSED", "b": "FAILED", "c": "PASSED", "d": "PASSED", "e": "PASSED"}
    )
    assert resolution(partial) == "RESOLVED_PARTIAL"
    missing = get_tests_status(inst, {"a": "PASSED", "b": "PASSED", "c": "PASSED", "d": "ERROR"})
    assert missing["PASS_TO_PASS"]["failure"] == ["d", "e"] and resolution(missing) == "RESOLVED_NO"
    fail_only = _inst(FAIL_TO_PASS=["a"], PASS_TO_PASS=["c"], eval_type="fail_only")
    assert resolution(get_tests_status(fail_only, {"c": "PASSED"})) == "RESOLVED_FULL"


def test_gold_statuses_on_real_instances_resolve(shared_data: Path) -> None:
    for inst in load_instances(shared_data / "swebench" / "lite_dev.jsonl.gz"):
        sm = dict.fromkeys(inst.FAIL_TO_PASS + inst.PASS_TO_PASS, "PASSED")
        assert resolution(get_tests_status(inst, sm)) == "RESOLVED_FULL"
        assert resolution(get_tests_status(inst, {})) == "RESOLVED_NO"


def _git(*args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@x.invalid", *args], check=True)


def test_repo_cache_finds_clones_bare_mirrors_and_symlinks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "f.txt").write_text("x\n")
    _git("init", "-q", str(work))
    _git("-C", str(work), "add", "-A")
    _git("-C", str(work), "commit", "-q", "-m", "c")
    sha = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "psf__requests").symlink_to(work)  # a clone, via a symlink
    _git("clone", "-q", "--bare", str(work), str(cache / "sympy+sympy" / "repo"))  # fetch-tool mirror layout
    assert resolve_repo("psf/requests", sha, cache, allow_clone=False) == work.resolve()
    monkeypatch.setenv("PATCHJURY_REPO_CACHE", str(cache))
    assert resolve_repo("sympy/sympy", sha, allow_clone=False) == (cache / "sympy+sympy" / "repo").resolve()
    with pytest.raises(RepoCacheError, match="lacks commit"):
        resolve_repo("psf/requests", "f" * 40, cache, allow_clone=False)
    with pytest.raises(RepoCacheError, match=r"cache.*pallets__flask"):
        resolve_repo("pallets/flask", sha, cache, allow_clone=False)
    with pytest.raises(RepoCacheError, match="not a directory"):
        resolve_repo("pallets/flask", sha, tmp_path / "nope", allow_clone=False)


def test_cli_bad_input_is_one_error_line(tmp_path: Path) -> None:
    inst = tmp_path / "i.jsonl"
    inst.write_text(json.dumps({"instance_id": "o__n-1", "repo": "o/n", "base_commit": "a"}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"instance_id": "o__n-2", "model_patch": "x"}) + "\n")
    runner = CliRunner()
    res = runner.invoke(
        app, ["swebench", "eval", "-p", str(preds), "-i", str(inst), "-o", str(tmp_path / "o")]
    )
    assert res.exit_code != 0
    assert "unknown instance id o__n-2 (did you mean o__n-1?)" in str(res.exception)
    res = runner.invoke(app, ["swebench", "eval", "-p", str(tmp_path / "none.jsonl"), "-i", str(inst)])
    assert "predictions file" in str(res.exception) and "not found" in str(res.exception)
    script = [
        str(Path(".venv/bin/patchjury").resolve()),
        "swebench",
        "eval",
        "-p",
        str(preds),
        "-i",
        str(inst),
    ]
    if Path(script[0]).exists():
        run = subprocess.run(script, capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 2 and run.stderr.startswith("error: unknown instance id")
        assert len(run.stderr.strip().splitlines()) == 1


def test_engine_down_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    """The harness could not run at all: exit 1, as the official harness's crash (bad input is exit 2)."""
    inst = tmp_path / "i.jsonl"
    inst.write_text(json.dumps({"instance_id": "o__n-1", "repo": "o/n", "base_commit": "a"}) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"instance_id": "o__n-1", "model_patch": "diff --git a/x b/x\n"}) + "\n")
    exe = Path(".venv/bin/patchjury").resolve()
    if not exe.exists():
        pytest.skip("console script not installed")
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    run = subprocess.run(
        [str(exe), "swebench", "eval", "-p", str(preds), "-i", str(inst), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 1
    assert (
        run.stderr.startswith("error: cannot reach the Docker engine") and len(run.stderr.splitlines()) == 1
    )

"""Regression signal: related-test discovery, pytest -rA parsing, new failures per candidate (real repo, LocalEnv)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.selection.config import RegressionConfig
from patchjury.selection.env_pool import EnvPool
from patchjury.selection.regression import parse_pytest_ra, run_regression
from patchjury.selection.related_tests import related_test_files

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo

PYTEST = f"PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 {sys.executable} -m pytest -q -rA -p no:cacheprovider {{files}}"

RA_OUTPUT = """\
..F.E                                                                    [100%]
==================================== ERRORS ====================================
=========================== short test summary info ============================
PASSED tests/test_a.py::test_one
PASSED tests/test_a.py::TestK::test_param[1-x y]
FAILED tests/test_a.py::test_two - AssertionError: assert 1 == 2
ERROR tests/test_b.py::test_fixture - RuntimeError: boom
ERROR tests/test_c.py - ImportError: cannot import name 'x'
SKIPPED [1] tests/test_a.py:40: not on this platform
XFAIL tests/test_a.py::test_known - flaky
PASSED tests/test_a.py::test_teardown_fails
ERROR tests/test_a.py::test_teardown_fails - OSError
1 failed, 3 passed, 1 skipped, 1 xfailed, 2 errors in 0.12s
"""


def test_parse_pytest_ra() -> None:
    got = parse_pytest_ra(RA_OUTPUT)
    assert got == {
        "tests/test_a.py::test_one": "PASSED",
        "tests/test_a.py::TestK::test_param[1-x y]": "PASSED",
        "tests/test_a.py::test_two": "FAILED",
        "tests/test_b.py::test_fixture": "ERROR",
        "tests/test_c.py": "ERROR",
        "tests/test_a.py::test_known": "XFAIL",
        "tests/test_a.py::test_teardown_fails": "ERROR",
    }


def test_related_test_files_ranking(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    files = {
        "src/pkg/core/parser.py": "X = 1\n",
        "src/pkg/core/__init__.py": "",
        "src/pkg/util.py": "Y = 1\n",
        "tests/core/test_parser.py": "def test_a():\n    pass\n",
        "tests/test_parser.py": "def test_b():\n    pass\n",
        "src/pkg/other/tests/test_parser.py": "def test_f():\n    pass\n",  # another package's parser: unrelated
        "tests/test_parser_edge.py": "def test_c():\n    pass\n",
        "tests/test_api.py": "from pkg.core import parser\n\ndef test_d():\n    pass\n",
        "tests/test_other.py": "import pkg.util\n\ndef test_e():\n    pass\n",
        "tests/helpers.py": "import pkg.core.parser\n",
        "src/pkg/compose/_column_transformer.py": "Z = 1\n",  # private module, public test name (sklearn)
        "src/pkg/compose/tests/test_column_transformer.py": "def test_g():\n    pass\n",
    }
    jury_repo.commit_tree(repo, files)
    env = LocalEnv(LocalEnvConfig(repo=repo, output_limit=80))  # command output is cut: lists must not be
    try:
        got = related_test_files(env, ["src/pkg/core/parser.py", "README.md"], RegressionConfig())
        assert (
            got
            == [
                "tests/core/test_parser.py",  # rank 0: same name, closest (shares `core`); tests/test_parser.py is farther
                "tests/test_parser_edge.py",  # rank 1: prefix
                "tests/test_api.py",  # rank 2: imports the module (helpers.py is not a test file)
            ]
        )
        assert related_test_files(
            env, ["src/pkg/core/parser.py"], RegressionConfig(max_files=1, importers=False)
        ) == ["tests/core/test_parser.py"]
        assert related_test_files(env, ["src/pkg/util.py"], RegressionConfig()) == ["tests/test_other.py"]
        assert related_test_files(env, ["src/pkg/compose/_column_transformer.py"], RegressionConfig()) == [
            "src/pkg/compose/tests/test_column_transformer.py"
        ]
    finally:
        env.close()


def test_run_regression_counts_new_failures(tmp_path: Path) -> None:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    subjects = {k: patches[k] for k in ("good", "partial", "wrong")}
    cfg = RegressionConfig(command=PYTEST, timeout=120)
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha, output_limit=100)), 2) as pool:
        report = run_regression(pool, subjects, cfg, workers=2)
    assert report.files == ["tests/test_textutil.py"]
    assert report.passing == ["tests/test_textutil.py::test_basic", "tests/test_textutil.py::test_single"]
    assert report.failures == {"good": [], "partial": [], "wrong": ["tests/test_textutil.py::test_basic"]}
    assert report.count("wrong") == 1 and report.count("good") == 0 and report.count("nobody") is None
    assert report.note == ""


def test_run_regression_without_related_tests_says_so(tmp_path: Path) -> None:
    repo, sha, _ = jury_repo.make_repo(tmp_path)
    readme_patch = "diff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+hi\n"
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 1) as pool:
        report = run_regression(pool, {"a": readme_patch}, RegressionConfig(command=PYTEST))
    assert report.files == [] and report.count("a") is None
    assert "no repository tests related to NOTES.md" in report.note


def test_baseline_that_cannot_run_says_why(tmp_path: Path) -> None:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    cfg = RegressionConfig(command="no-such-runner {files}")
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 1) as pool:
        report = run_regression(pool, {"good": patches["good"]}, cfg)
    assert report.files == ["tests/test_textutil.py"] and report.passing == []
    assert report.count("good") is None
    assert report.note.startswith(
        "no related test passes on the original code (exit 127, no test results (pytest_ra) in the output"
    )
    assert "no-such-runner: command not found" in report.note


def test_recipe_regression_command_and_parser_replace_the_pytest_default() -> None:
    from patchjury.selection.config import SelectionConfig, with_recipe_regression

    cfg = SelectionConfig()
    got = with_recipe_regression(cfg, "bin/test -C --verbose", "parse_log_sympy")
    assert got.regression.command == "bin/test -C --verbose {files}"
    assert got.regression.parser == "parse_log_sympy"
    assert cfg.regression.parser == "pytest_ra"  # the shared config is not modified
    assert with_recipe_regression(cfg, None, "parse_log_sympy") is cfg  # no test command: keep the default
    off = SelectionConfig(regression={"from_recipe": False})
    assert (
        with_recipe_regression(off, "bin/test", "parse_log_sympy").regression.command
        == off.regression.command
    )


@pytest.mark.slow
def test_per_file_keeps_results_when_one_related_file_breaks_the_runner(tmp_path: Path) -> None:
    repo, _, patches = jury_repo.make_repo(tmp_path)
    (repo / "tests" / "test_textutil_extra.py").write_text(
        "import no_such_module\n\ndef test_x():\n    pass\n"
    )
    jury_repo.git(repo, "add", "-A")
    jury_repo.git(repo, "commit", "-q", "-m", "a test file that cannot be collected")
    sha = jury_repo.git(repo, "rev-parse", "HEAD").strip()

    def report(per_file: bool):  # type: ignore[no-untyped-def]
        cfg = RegressionConfig(command=PYTEST, per_file=per_file)
        with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 1) as pool:
            return run_regression(pool, {"good": patches["good"]}, cfg)

    together = report(per_file=False)  # pytest stops the whole session at the collection error
    assert together.files == ["tests/test_textutil.py", "tests/test_textutil_extra.py"]
    assert together.passing == []
    alone = report(per_file=True)
    assert alone.passing and all(t.startswith("tests/test_textutil.py::") for t in alone.passing)
    assert alone.count("good") == 0


@pytest.mark.slow
def test_per_file_leaves_out_a_file_too_slow_on_the_original_code(tmp_path: Path) -> None:
    repo, _, patches = jury_repo.make_repo(tmp_path)
    slow = "import time\n\ndef test_slow():\n    time.sleep(60)\n"
    (repo / "tests" / "test_textutil_slow.py").write_text(slow)
    jury_repo.git(repo, "add", "-A")
    jury_repo.git(repo, "commit", "-q", "-m", "a slow related test file")
    sha = jury_repo.git(repo, "rev-parse", "HEAD").strip()
    cfg = RegressionConfig(command=PYTEST, per_file=True, file_timeout=1.5)  # one retry (3 s) by default
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 1) as pool:
        report = run_regression(pool, {"good": patches["good"]}, cfg)
    assert report.files == ["tests/test_textutil.py"]  # the slow file is not run on the candidates
    assert report.passing and report.count("good") == 0
    assert "tests/test_textutil_slow.py: timed out after 1.5 s, and again after 3 s: left out" in report.note


def _first_run_hangs(marker: Path) -> str:
    """Python source that hangs the first time it is imported (`marker` outside the checkout remembers it) after
    leaving a file in the checkout, and fails when that file is still there on a later run (a retry must start
    from a fresh tree): a timeout from load, not from the code."""
    return (
        "import os\nimport time\n\n"
        f"if not os.path.exists({str(marker)!r}):\n"
        f"    open({str(marker)!r}, 'w').close()\n"
        "    open('leftover.txt', 'w').close()\n"
        "    time.sleep(60)\n"
        "elif os.path.exists('leftover.txt'):\n"
        "    raise RuntimeError('the retry did not start from a fresh tree')\n\n\n"
    )


def _patched(repo: Path, textutil: str) -> str:
    (repo / "textutil.py").write_text(textutil)
    patch = jury_repo.git(repo, "diff")
    jury_repo.git(repo, "checkout", "-q", "--", "textutil.py")
    return patch


@pytest.mark.slow
def test_a_timeout_is_retried_with_twice_the_limit_and_only_a_hang_counts(tmp_path: Path) -> None:
    repo, _, _ = jury_repo.make_repo(tmp_path)
    # The original code's test file also hangs on its first run only: the baseline is retried, not left out.
    tests = repo / "tests" / "test_textutil.py"
    tests.write_text(_first_run_hangs(tmp_path / "baseline.ran") + tests.read_text())
    jury_repo.git(repo, "commit", "-q", "-am", "a related test file that is slow once")
    sha = jury_repo.git(repo, "rev-parse", "HEAD").strip()
    subjects = {
        "flaky": _patched(repo, _first_run_hangs(tmp_path / "flaky.ran") + jury_repo.FIXES["good"]),
        "flaky_wrong": _patched(repo, _first_run_hangs(tmp_path / "wrong.ran") + jury_repo.FIXES["wrong"]),
        "hang": _patched(repo, "import time\n\ntime.sleep(60)\n" + jury_repo.ORIGINAL),
    }
    cfg = RegressionConfig(command=PYTEST, per_file=True, file_timeout=2, timeout_retries=1)
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 2) as pool:
        report = run_regression(pool, subjects, cfg, workers=2)
    assert report.files == ["tests/test_textutil.py"]
    assert report.passing == ["tests/test_textutil.py::test_basic", "tests/test_textutil.py::test_single"]
    assert report.failures == {
        "flaky": [],  # the retry ran on a fresh tree: no leftover.txt
        "flaky_wrong": ["tests/test_textutil.py::test_basic"],  # ... with the patch applied again
        "hang": report.passing,  # a patch that makes the tests hang regresses
    }
    assert "baseline tests/test_textutil.py: timed out after 2 s, finished on retry within 4 s" in report.note
    # the original code needed 4 s: candidates start there instead of repeating a 2 s attempt bound to time out
    retried = "tests/test_textutil.py: timed out after 4 s, finished on retry within 8 s"
    for subject in ("flaky", "flaky_wrong"):
        assert f"{subject}: {retried}" in report.note
    assert (
        "hang: tests/test_textutil.py: timed out after 4 s, and again after 8 s: its unfinished tests count as "
        "failures" in report.note
    )


@pytest.mark.slow
def test_without_retries_the_first_timeout_of_the_whole_selection_counts(tmp_path: Path) -> None:
    repo, sha, _ = jury_repo.make_repo(tmp_path)
    subjects = {
        "flaky": _patched(repo, _first_run_hangs(tmp_path / "flaky.ran") + jury_repo.FIXES["good"]),
        "hang": _patched(repo, "import time\n\ntime.sleep(60)\n" + jury_repo.ORIGINAL),
    }
    cfg = RegressionConfig(command=PYTEST, timeout=2, timeout_retries=0)  # one command for all related files
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 2) as pool:
        report = run_regression(pool, subjects, cfg, workers=2)
    assert report.passing == ["tests/test_textutil.py::test_basic", "tests/test_textutil.py::test_single"]
    assert report.count("flaky") == 2 and report.count("hang") == 2
    assert report.note == (
        "flaky: timed out after 2 s: its unfinished tests count as failures; "
        "hang: timed out after 2 s: its unfinished tests count as failures"
    )


def test_recipe_regression_follows_the_instance_recipe_and_leaves_official_images_alone() -> None:
    from patchjury.envs.plan import EnvSettings, instance_env_config
    from patchjury.envs.swebench.build import InstanceImage
    from patchjury.envs.swebench.instances import parse_instances
    from patchjury.envs.swebench.recipes import get_recipe
    from patchjury.selection.config import SelectionConfig, recipe_regression

    (inst,) = parse_instances(
        [
            {
                "instance_id": "sympy__sympy-1",
                "repo": "sympy/sympy",
                "base_commit": "abc",
                "version": "1.9",
                "problem_statement": "p",
            }
        ]
    )
    recipe = get_recipe("sympy/sympy", "1.9")
    cfg = SelectionConfig()
    local = recipe_regression(cfg, inst, InstanceImage("img", False, recipe, 0.0))
    assert local.regression.command == f"{recipe.test_cmd} {{files}}"
    assert local.regression.parser == "parse_log_sympy" and local.regression.per_file
    assert recipe_regression(cfg, inst, InstanceImage("img", True, recipe, 0.0)) is cfg
    planned = instance_env_config(InstanceImage("img", False, recipe, 0.0), EnvSettings())
    assert planned.env == recipe.resolved_env()


def test_django_layout_related_tests_run_by_module_label(tmp_path: Path) -> None:
    """django's suite: `tests/<app>/tests.py` and `tests/<x>_tests/test_<mod>.py`, run as module labels."""
    repo = tmp_path / "dj"
    files = {
        "django/__init__.py": "",
        "django/core/__init__.py": "",
        "django/core/validators.py": "def ok(x):\n    return x > 0\n",
        "django/utils/__init__.py": "",
        "django/utils/html.py": "def esc(s):\n    return s.replace('<', '&lt;')\n",
        "tests/validators/__init__.py": "",
        "tests/validators/tests.py": (
            "import unittest\nfrom django.core.validators import ok\n\n"
            "class T(unittest.TestCase):\n    def test_ok(self):\n        self.assertTrue(ok(1))\n"
        ),
        "tests/utils_tests/__init__.py": "",
        "tests/utils_tests/test_html.py": (
            "import unittest\nfrom django.utils.html import esc\n\n"
            "class H(unittest.TestCase):\n    def test_esc(self):\n        self.assertEqual(esc('<'), '&lt;')\n"
        ),
        "tests/utils_tests/test_other.py": "import unittest\n",
        "tests/admin_views/__init__.py": "",
        "tests/admin_views/tests.py": "from django.utils.html import esc\n",
        "tests/template_html/__init__.py": "",
        "tests/template_html/tests.py": "from django.utils.html import esc\n",
    }
    sha = jury_repo.commit_tree(repo, files)
    env = LocalEnv(LocalEnvConfig(repo=repo))
    try:
        assert related_test_files(env, ["django/core/validators.py"], RegressionConfig()) == [
            "tests/validators/tests.py"  # the test directory named after the module
        ]
        assert related_test_files(env, ["django/utils/html.py"], RegressionConfig()) == [
            "tests/utils_tests/test_html.py",  # `utils_tests` counts as `utils`
            "tests/template_html/tests.py",  # importers: paths naming the module first
            "tests/admin_views/tests.py",
        ]
    finally:
        env.close()
    breaks = (
        "diff --git a/django/utils/html.py b/django/utils/html.py\n--- a/django/utils/html.py\n"
        "+++ b/django/utils/html.py\n@@ -1,2 +1,2 @@\n def esc(s):\n-    return s.replace('<', '&lt;')\n"
        "+    return s\n"
    )
    cmd = f"cd tests && PYTHONPATH=.. {sys.executable} -m unittest -v {{modules}}"
    cfg = RegressionConfig(command=cmd, parser="parse_log_django", per_file=True)
    with EnvPool(lambda: LocalEnv(LocalEnvConfig(repo=repo, commit=sha)), 1) as pool:
        report = run_regression(pool, {"bad": breaks}, cfg)
    assert report.passing == ["test_esc (utils_tests.test_html.H)"] or report.passing == [
        "test_esc (utils_tests.test_html.H.test_esc)"  # unittest's newer name format
    ]
    assert report.count("bad") == 1, report.note


def test_django_recipe_runs_related_tests_as_module_labels() -> None:
    from patchjury.selection.config import SelectionConfig, with_recipe_regression

    got = with_recipe_regression(
        SelectionConfig(), "./tests/runtests.py", "parse_log_django", "django_modules"
    )
    assert got.regression.command == "./tests/runtests.py {modules}"

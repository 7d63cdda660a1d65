"""Log parsers on realistic output snippets, and every `log_parser` name the dataset uses."""

from __future__ import annotations

from pathlib import Path

from patchjury.envs.swebench.instances import load_instances
from patchjury.envs.swebench.parsers import (
    PARSERS,
    REPO_PARSERS,
    get_parser,
    parse_log_django,
    parse_log_matplotlib,
    parse_log_pytest,
    parse_log_pytest_options,
    parse_log_pytest_v2,
    parse_log_seaborn,
    parse_log_sympy,
    parser_name_for,
)

PYTEST_RA = """\
============================= test session starts ==============================
collected 6 items

testing/test_mark_expression.py ..F.sx                                 [100%]

=================================== FAILURES ===================================
___________________________ test_syntax_errors[a b] ____________________________
    def test_syntax_errors():
>       assert False
E       assert False
=========================== short test summary info ============================
PASSED testing/test_mark_expression.py::test_empty_is_false
PASSED testing/test_mark_expression.py::test_basic[true-True]
PASSED testing/test_mark_expression.py::test_syntax_oddeties[    true           ]
FAILED testing/test_mark_expression.py::test_syntax_errors[a b] - assert False
ERROR testing/test_mark_expression.py::test_setup_boom - RuntimeError: boom
SKIPPED [1] testing/test_mark_expression.py:40: needs numpy
XFAIL testing/test_mark_expression.py::test_known_bug - reason: later
==================== 1 failed, 3 passed, 1 skipped, 1 xfailed in 0.12s ====================
"""


def test_pytest_short_summary_including_ids_with_spaces() -> None:
    sm = parse_log_pytest(PYTEST_RA)
    assert sm["testing/test_mark_expression.py::test_empty_is_false"] == "PASSED"
    assert sm["testing/test_mark_expression.py::test_basic[true-True]"] == "PASSED"
    # both the whole parametrized id and the dataset's cut-at-first-space form
    assert sm["testing/test_mark_expression.py::test_syntax_oddeties[    true           ]"] == "PASSED"
    assert sm["testing/test_mark_expression.py::test_syntax_oddeties["] == "PASSED"
    assert sm["testing/test_mark_expression.py::test_syntax_errors[a b]"] == "FAILED"
    assert sm["testing/test_mark_expression.py::test_setup_boom"] == "ERROR"
    assert sm["testing/test_mark_expression.py::test_known_bug"] == "XFAIL"
    assert "[1]" not in sm  # `SKIPPED [1] path:line: reason` is a count, not a test
    assert not any(k.startswith("assert") or "session" in k for k in sm)


def test_pytest_options_shorten_absolute_paths() -> None:
    log = (
        "PASSED tests/test_lint.py::test_functional[/tmp/pytest-of-root/pytest-3/x/input.py]\n"
        "FAILED test_requests.py::RequestsTestCase::test_HTTP_200_OK_GET - ConnectionError: httpbin\n"
        "PASSED tests/test_url.py::test_x[//double]\n"
    )
    sm = parse_log_pytest_options(log)
    assert sm["tests/test_lint.py::test_functional[/input.py]"] == "PASSED"
    assert sm["test_requests.py::RequestsTestCase::test_HTTP_200_OK_GET"] == "FAILED"
    assert sm["tests/test_url.py::test_x[//double]"] == "PASSED"


def test_pytest_v2_strips_colour_and_reads_old_style_lines() -> None:
    log = (
        "\x1b[32mPASSED\x1b[0m sklearn/tests/test_base.py::test_clone\n"
        "[31mFAILED[0m sklearn/tests/test_base.py::test_repr - AssertionError\n"
        "tests/test_build.py::test_html PASSED\n"
        "tests/test_build.py::test_latex FAILED\n"
    )
    sm = parse_log_pytest_v2(log)
    assert sm["sklearn/tests/test_base.py::test_clone"] == "PASSED"
    assert sm["sklearn/tests/test_base.py::test_repr"] == "FAILED"
    assert sm["tests/test_build.py::test_html"] == "PASSED"
    assert sm["tests/test_build.py::test_latex"] == "FAILED"


def test_matplotlib_mouse_buttons_and_seaborn() -> None:
    sm = parse_log_matplotlib("PASSED lib/matplotlib/tests/test_widgets.py::test_span[MouseButton.LEFT-x]\n")
    assert sm == {"lib/matplotlib/tests/test_widgets.py::test_span[1-x]": "PASSED"}
    sb = parse_log_seaborn(
        "tests/test_core.py::TestSemantic::test_map PASSED [ 10%]\n"
        "FAILED tests/test_core.py::TestSemantic::test_bad - ValueError\n"
        "PASSED tests/test_core.py::test_other\n"
    )
    assert sb == {
        "tests/test_core.py::TestSemantic::test_map": "PASSED",
        "tests/test_core.py::TestSemantic::test_bad": "FAILED",
        "tests/test_core.py::test_other": "PASSED",
    }


SYMPY_LOG = """\
============================= test process starts ==============================
executable:         /opt/venv/bin/python  (3.9.2-final-0) [CPython]
random seed:        12345
sympy/core/tests/test_basic.py[12]
test__aresame ok
test_structure ok
test_immutable F
test_equality ok
test_broken E
test_slow_thing s
test_known f                                                              [FAIL]

________________________________________________________________________________
_____________ sympy/core/tests/test_basic.py:test_immutable ______________
Traceback (most recent call last):
AssertionError
============= tests finished: 3 passed, 1 failed, 1 exceptions in 0.41 seconds =============
"""


def test_sympy_bin_test_verbose() -> None:
    sm = parse_log_sympy(SYMPY_LOG)
    assert sm["test__aresame"] == "PASSED" and sm["test_structure"] == "PASSED"
    assert sm["test_immutable"] == "FAILED" and sm["test_broken"] == "ERROR"
    assert sm["sympy/core/tests/test_basic.py:test_immutable"] == "FAILED"
    assert sm["test_slow_thing"] == "SKIPPED"


DJANGO_LOG = """\
Testing against Django installed in '/testbed/django'
Importing application auth_tests
test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest) ... ok
test_validate (auth_tests.test_validators.MinimumLengthValidatorTest) ... ok
test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests) ... FAIL
test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests) ... ERROR
test_skip_me (auth_tests.test_validators.SkipTests) ... skipped 'no PIL'
test_noisy (auth_tests.test_validators.NoisyTests) ... Internal noise printed here
ok
test_expected (auth_tests.test_validators.X) ... expected failure

======================================================================
FAIL: test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)
----------------------------------------------------------------------
Ran 6 tests in 0.010s

FAILED (failures=1, errors=1)
"""


def test_django_runtests_verbose() -> None:
    sm = parse_log_django(DJANGO_LOG)
    assert sm["test_help_text (auth_tests.test_validators.MinimumLengthValidatorTest)"] == "PASSED"
    assert sm["test_ascii_validator (auth_tests.test_validators.UsernameValidatorsTests)"] == "FAILED"
    assert sm["test_unicode_validator (auth_tests.test_validators.UsernameValidatorsTests)"] == "ERROR"
    assert sm["test_skip_me (auth_tests.test_validators.SkipTests)"] == "SKIPPED"
    assert sm["test_noisy (auth_tests.test_validators.NoisyTests)"] == "PASSED"
    assert sm["test_expected (auth_tests.test_validators.X)"] == "XFAIL"


def test_every_dataset_log_parser_name_is_mapped(shared_data: Path) -> None:
    names = set()
    repos = set()
    for name in ("lite_test.jsonl.gz", "lite_dev.jsonl.gz", "verified_test.jsonl.gz"):
        for inst in load_instances(shared_data / "swebench" / name):
            names.add(inst.log_parser)
            repos.add(inst.repo)
    assert len(names) >= 18
    for n in names:
        assert n is not None and get_parser(n) is PARSERS[n]
    assert repos <= set(REPO_PARSERS)
    assert parser_name_for("django/django") == "parse_log_django"
    assert parser_name_for("x/y", "parse_log_sympy", "parse_log_django") == "parse_log_django"


def test_django_docstring_lines_credit_the_test_name_too() -> None:
    # Python >= 3.9 prints the first docstring line of `"""\n    Doc...` docstrings; the Python 3.6/3.8 of the
    # official Django images does not, so datasets name such tests by `name (module.Class)` (django-13449).
    log = (
        "test_lag (expressions_window.tests.WindowFunctionTests)\n"
        "Compute the difference between an employee's salary and the next ... ok\n"
        "test_fail_insert (expressions_window.tests.WindowFunctionTests)\n"
        "Window expressions can't be used in an INSERT statement. ... FAIL\n"
        "test_first_value (expressions_window.tests.WindowFunctionTests) ... ok\n"
        "test_skip (expressions_window.tests.WindowFunctionTests)\n"
        "Skipped here. ... skipped 'no feature'\n"
    )
    sm = parse_log_django(log)
    assert sm["test_lag (expressions_window.tests.WindowFunctionTests)"] == "PASSED"
    assert sm["Compute the difference between an employee's salary and the next"] == "PASSED"
    assert sm["test_fail_insert (expressions_window.tests.WindowFunctionTests)"] == "FAILED"
    assert sm["Window expressions can't be used in an INSERT statement."] == "FAILED"
    assert sm["test_first_value (expressions_window.tests.WindowFunctionTests)"] == "PASSED"
    assert sm["test_skip (expressions_window.tests.WindowFunctionTests)"] == "SKIPPED"


def test_django_docstring_result_after_other_output_credits_the_test_name() -> None:
    # django-13551 / 13568 (Gemini 3 Pro run): the runner's own lines land between the docstring line and its `ok`
    log = (
        "test_check_password_upgrade (auth_tests.test_models.AbstractUserTestCase)\n"
        "password_changed() shouldn't be called if User.check_password() ... System check identified no issues "
        "(0 silenced).\n"
        "ok\n"
        "test_is_anonymous_authenticated_methods (auth_tests.test_checks.UserModelChecksTests)\n"
        "<User Model>.is_anonymous/is_authenticated must not be methods. ... Testing against Django installed in "
        "'/testbed/django'\n"
        "Importing application auth_tests\n"
        "Skipping setup of unused database(s): default, other.\n"
        "System check identified no issues (0 silenced).\n"
        "ok\n"
        "test_required_fields_is_list (auth_tests.test_checks.UserModelChecksTests)\n"
        "REQUIRED_FIELDS should be a list. ... ok\n"
    )
    sm = parse_log_django(log)
    assert sm["test_check_password_upgrade (auth_tests.test_models.AbstractUserTestCase)"] == "PASSED"
    assert (
        sm["test_is_anonymous_authenticated_methods (auth_tests.test_checks.UserModelChecksTests)"]
        == "PASSED"
    )
    assert sm["<User Model>.is_anonymous/is_authenticated must not be methods."] == "PASSED"
    assert sm["test_required_fields_is_list (auth_tests.test_checks.UserModelChecksTests)"] == "PASSED"

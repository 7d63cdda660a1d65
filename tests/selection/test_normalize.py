"""Patch normalization: formatting/comment-only edits vanish, test and repro edits are dropped."""

from __future__ import annotations

import pytest

from patchjury.selection.errors import PatchFormatError
from patchjury.selection.normalize import is_repro_script, is_test_path, normalize_patch


def diff(
    path: str, old: list[str], new: list[str], start: int = 10, ctx: tuple[str, str] = ("def f(x):", "")
) -> str:
    body = [f" {ctx[0]}"] + [f"-{ln}" for ln in old] + [f"+{ln}" for ln in new] + [f" {ctx[1]}"]
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -{start},{len(old) + 2} +{start},{len(new) + 2} @@\n" + "\n".join(body) + "\n"
    )


FIX = diff("pkg/mod.py", ["    return x + 1"], ["    return x + 2"])


def test_whitespace_and_comment_only_edits_are_dropped() -> None:
    assert normalize_patch(diff("pkg/mod.py", ["    return x+1"], ["    return  x + 1   # add one"])) == ""
    assert normalize_patch(diff("pkg/mod.py", [], ["    # a new comment", ""])) == ""
    assert normalize_patch(diff("pkg/mod.py", ["    y = (1,", "         2)"], ["    y = (1, 2)"])) == ""


def test_docstring_only_edit_is_dropped_but_string_literals_are_not() -> None:
    old = ["def g():", '    """Old doc."""', "    return 1"]
    new = ["def g():", '    """New doc."""', "    return 1"]
    assert normalize_patch(diff("pkg/mod.py", old, new)) == ""
    changed = normalize_patch(diff("pkg/mod.py", ["    'use Foo'"], ["    'use Bar'"]))
    assert "Bar" in changed


def test_equivalent_patches_normalize_equal_and_different_ones_do_not() -> None:
    a = normalize_patch(diff("pkg/mod.py", ["    return x + 1"], ["    return x + 2  # fixed"], start=10))
    b = normalize_patch(diff("pkg/mod.py", ["    return x+1"], ["    return (x +  2)"], start=42))
    c = normalize_patch(diff("pkg/mod.py", ["    return x + 1"], ["    return x + 3"]))
    assert a == b != ""
    assert a != c


def test_test_files_and_repro_scripts_are_dropped() -> None:
    test_edit = diff("pkg/tests/test_mod.py", ["    assert f(1) == 2"], ["    assert f(1) == 3"])
    repro = "diff --git a/reproduce_bug.py b/reproduce_bug.py\nnew file mode 100644\n--- /dev/null\n+++ b/reproduce_bug.py\n@@ -0,0 +1 @@\n+print(1)\n"
    scratch = "--- /dev/null\n+++ b/check.py\n@@ -0,0 +1 @@\n+print(2)\n"
    assert normalize_patch(test_edit + repro + scratch) == ""
    assert normalize_patch(FIX + test_edit + repro) == normalize_patch(FIX) != ""
    assert normalize_patch(FIX, drop_paths=lambda p: p == "pkg/mod.py") == ""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_x.py", True),
        ("sympy/core/tests/test_basic.py", True),
        ("testing/io/test_saferepr.py", True),
        ("pkg/conftest.py", True),
        ("pkg/foo_test.py", True),
        ("tests/admin_views/admin.py", True),
        ("django/test/utils.py", False),
        ("sympy/testing/pytest.py", False),
        ("src/_pytest/python.py", False),
        ("pkg/contest.py", False),
    ],
)
def test_is_test_path(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


def test_is_repro_script() -> None:
    assert is_repro_script("reproduce_issue.py") and is_repro_script("repro.py")
    assert not is_repro_script("sympy/core/basic.py")


def test_non_python_files_collapse_whitespace_only() -> None:
    assert normalize_patch(diff("docs/x.cfg", ["a = 1"], ["a  =  1"])) == normalize_patch(
        diff("docs/x.cfg", ["a =   1"], ["a = 1"])
    )
    assert normalize_patch(diff("setup.cfg", ["a = 1"], ["a = 2"])) != ""


def test_lenient_parse_of_wrong_hunk_counts_and_garbage() -> None:
    wrong = FIX.replace("@@ -10,3 +10,3 @@", "@@ -10,9 +10,9 @@")
    assert normalize_patch(wrong) == normalize_patch(FIX)
    with pytest.raises(PatchFormatError, match="no file header"):
        normalize_patch("I fixed it, trust me")
    with pytest.raises(PatchFormatError, match="malformed hunk header"):
        normalize_patch("--- a/x.py\n+++ b/x.py\n@@ nonsense @@\n-a\n+b\n")

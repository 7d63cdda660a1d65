"""Agent scratch files stripped from submitted patches: on hand-made diffs and on every real pool patch."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from patchjury.selection.patch_parse import parse_diff
from patchjury.selection.scratch import is_scratch, sections, strip_scratch, without

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

FIX = (
    "diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,3 +1,3 @@\n"
    " a = 1\n--- b = 2\n+++ b = 3\n c = 4\n"  # a removed `-- b = 2` line and an added `++ b = 3` line
)
NEW_ROOT = (
    "diff --git a/reproduce.py b/reproduce.py\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n"
    "+++ b/reproduce.py\n@@ -0,0 +1,2 @@\n+from pkg import mod\n+print(mod.b)\n"
)
NEW_MODULE = (
    "diff --git a/pkg/helpers.py b/pkg/helpers.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/helpers.py\n"
    "@@ -0,0 +1 @@\n+X = 1\n"
)
PLAIN = "--- a/pkg/other.py\n+++ b/pkg/other.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


def test_sections_cut_files_exactly_even_with_diff_like_hunk_lines() -> None:
    patch = FIX + NEW_ROOT + NEW_MODULE + PLAIN
    cut = sections(patch)
    assert [s.path for s in cut] == ["pkg/mod.py", "reproduce.py", "pkg/helpers.py", "pkg/other.py"]
    assert [s.is_new for s in cut] == [False, True, True, False]
    assert "".join(s.text for s in cut) == patch


def test_strip_rules() -> None:
    patch = FIX + NEW_ROOT + NEW_MODULE
    kept, stripped = strip_scratch(patch)
    assert stripped == ["reproduce.py"]  # a new root file
    assert kept == FIX + NEW_MODULE  # a new module inside the package is part of the fix
    assert is_scratch("django_example/app/models.py", top_level={"django", "tests"})  # no such top dir
    assert not is_scratch("django/utils/new.py", top_level={"django", "tests"})
    assert is_scratch("tests/scripts/bug_check.py", test_paths={"tests/scripts/bug_check.py"})
    assert is_scratch("django/forms/widgets_backup.py") and is_scratch("docs/_build/index.html")
    assert is_scratch("tests/auth_tests/db.sqlite3") and is_scratch("sympy/repro_issue.py")
    assert not is_scratch("sympy/core/tests/test_new.py")
    assert strip_scratch("not a diff") == ("not a diff", [])
    assert without(patch, ["reproduce.py"]) == kept and without(patch, []) == patch


@pytest.mark.usefixtures("shared_data")
def test_every_real_pool_patch_keeps_its_edits() -> None:
    """On all 2,164 real candidates: stripping never touches an edit of an existing file, and what stays parses."""
    rows = []
    for name in ("lite_candidates_train.jsonl.gz", "lite_pools_with_tests_train.jsonl.gz"):
        with gzip.open(DATA / "candidates" / name, "rt") as fh:
            rows += [json.loads(line) for line in fh]
    stripped_any = 0
    for row in rows:
        patch = row["model_patch"] or ""
        if not patch.strip():
            continue
        kept, stripped = strip_scratch(patch, [t["path"] for t in row.get("tests", [])])
        stripped_any += bool(stripped)
        before = {f.path for f in parse_diff(patch) if not f.is_new}
        after = {f.path for f in parse_diff(kept) if not f.is_new} if kept.strip() else set()
        assert before == after, row["instance_id"]
    assert stripped_any > 400  # SWE-agent's runs left their scripts in most submissions

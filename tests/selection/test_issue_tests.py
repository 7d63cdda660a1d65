"""Reproduction tests derived from the issue text: extraction on real sympy issues, the generated runner scripts
against a small fake package in a real git repo, and the whole jury picking the right candidate with no
candidate tests at all."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.envs.protocol import Env
from patchjury.records import Candidate, Task
from patchjury.selection.config import SelectionConfig
from patchjury.selection.execution import _fingerprint
from patchjury.selection.explain import render_markdown
from patchjury.selection.issue_config import IssueTestsConfig
from patchjury.selection.issue_extract import extract
from patchjury.selection.issue_tests import issue_tests
from patchjury.selection.pass_matrix import ReproTest
from patchjury.selection.pipeline import run_instance

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo
from gitrepo import git

BUGGY = (
    "def mean(xs):\n    return sum(xs) // len(xs)\n\n\n"
    "def total(xs):\n    return sum(xs)\n\n\n"
    "def ratio(s):\n    a, b = s.split('/')\n    return int(a) / int(b)\n"
)
FIXED = BUGGY.replace("sum(xs) // len(xs)", "sum(xs) / len(xs)").replace(
    "return int(a) / int(b)", "return int(a) / int(b) if int(b) else None"
)
BROKEN = BUGGY.replace("sum(xs) // len(xs)", "sum(xs) / xs.size").replace(
    "return int(a) / int(b)", "raise ValueError('no ratios')"
)
EXTRA = "def half(v):\n    return v / 2\n"

SCRIPT_ISSUE = """`ratio` crashes on a zero denominator:

```python
from calc import ratio
ratio("1/0")
```

```
Traceback (most recent call last):
  File "<stdin>", line 2, in <module>
  File "calc/__init__.py", line 11, in ratio
ZeroDivisionError: division by zero
```

Install with this, which is not Python:

```bash
pip install calc
```
"""
SESSION_ISSUE = """mean rounds down:

```pycon
>>> from calc import mean, total
>>> mean([1, 2])
1
```

It should give

```
>>> mean([1, 2])
1.5
```

Related, fine as is: `total` gives

    >>> total([1, 2])
    3
"""
PRELUDE = {"acme/calc": "from calc import *\n"}
CFG = IssueTestsConfig(python=sys.executable, preludes=PRELUDE)


def _task(text: str, repo: str = "acme/calc", hints: str = "") -> Task:
    return Task(instance_id="acme__calc-1", problem_statement=text, repo=repo, hints_text=hints)


def _run(repo: Path, test: ReproTest) -> tuple[int, str]:
    path = repo / test.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(test.content)
    run = subprocess.run(
        test.command, shell=True, cwd=repo, capture_output=True, text=True, timeout=60, check=False
    )
    path.unlink()
    return run.returncode, run.stdout + run.stderr


def _codes(repo: Path, tests: list[ReproTest], module: str) -> dict[str, int]:
    (repo / "calc" / "__init__.py").write_text(module)
    return {t.test_id: _run(repo, t)[0] for t in tests}


@pytest.fixture
def calc_repo(make_repo) -> Path:  # type: ignore[no-untyped-def]
    return make_repo({"calc/__init__.py": BUGGY, "calc/extra.py": EXTRA})


def _lite(shared_data: Path, ids: set[str]) -> dict[str, dict[str, str]]:
    out = {}
    with gzip.open(shared_data / "swebench" / "lite_test.jsonl.gz", "rt") as fh:
        for line in fh:
            row = json.loads(line)
            if row["instance_id"] in ids:  # only the issue text (and hints) are read
                out[row["instance_id"]] = {
                    "problem_statement": row["problem_statement"],
                    "hints": row["hints_text"],
                }
    return out


def test_extraction_on_real_sympy_issues(shared_data: Path) -> None:
    rows = _lite(shared_data, {"sympy__sympy-18057", "sympy__sympy-20442", "sympy__sympy-21055"})
    # 18057: the repro script, followed by a pytest-style `E   AttributeError` block; the "On the line" code
    # block has no traceback after it (the next block is more code) and gives nothing
    s18057 = extract(rows["sympy__sympy-18057"]["problem_statement"])
    assert [(s.kind, s.exception) for s in s18057] == [
        ("script", "AttributeError"),
        ("script", "AttributeError"),
    ]
    assert "_ = sympy.Symbol('x') == C()" in s18057[0].source and s18057[1].source == "Symbol ('x' ).y\n"
    assert [s.source for s in extract(rows["sympy__sympy-18057"]["hints"])] == [">>> x == 'x'\nTrue\n"]
    # 20442: four one-example sessions written `>>>convert_to(...)` (no blank after the prompt)
    s20442 = extract(rows["sympy__sympy-20442"]["problem_statement"])
    assert [s.kind for s in s20442] == ["session"] * 4
    # "... give sensible results:" before blocks 2-4 (one run of blocks): correct outputs, `expected` only
    assert [s.shows for s in s20442] == ["either", "expected", "expected", "expected"]
    assert s20442[0].source == ">>> convert_to(joule*second,joule)\n    joule**(7/9)\n"
    # 21055: one session; tab-indented outputs; examples without output run but are not compared
    (s21055,) = extract(rows["sympy__sympy-21055"]["problem_statement"])
    assert s21055.kind == "session" and s21055.source.count(">>> ") == 7
    assert ">>> refine(arg(a),Q.positive(a))" in s21055.source and s21055.source.rstrip().endswith("arg(a)")
    tests = issue_tests(
        _task(rows["sympy__sympy-21055"]["problem_statement"], repo="sympy/sympy"), IssueTestsConfig()
    )
    assert [t.test_id for t in tests] == ["issue/1-actual", "issue/1-expected"]
    assert all(t.path.startswith(".patchjury_issue_tests/") and t.authors == [] for t in tests)
    assert "from sympy import *" in tests[0].content and "'sympy.physics.units'" in tests[0].content
    assert (
        tests[0].command == "PYTHONHASHSEED=0 python .patchjury_issue_tests/issue_1_actual.py"
    )  # one set order
    for t in tests:
        compile(t.content, t.path, "exec")


def test_extraction_rules() -> None:
    text = (
        "```bash\n$ python -m calc\n```\n"
        "```\nTraceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'a'\n```\n"
        "```python\nimport calc\ncalc.total(None)\nTraceback (most recent call last):\n  ...\n"
        "TypeError: 'NoneType' object is not iterable\n```\n"
        "```python\nimport shutil\nshutil.rmtree('/tmp/x')\n```\n```\nOSError: nope\n```\n"
        "```python\nprint(1)\n```\nno traceback here\n"
        "In [3]: total([1,\n   ...: 2])\nOut[3]: 3\n\n"
        "```yaml\n>>> 1 + 1\n3\n```\n"
    )
    got = extract(text)
    # same-block traceback; unsafe (rmtree) skipped; a script without traceback, shell, yaml, bare traceback: none
    assert [(s.kind, s.exception) for s in got] == [("script", "TypeError"), ("session", "")]
    assert got[0].source == "import calc\ncalc.total(None)\n"
    assert got[1].source == ">>> total([1,\n... 2])\n3\n"  # IPython prompts become doctest prompts
    cfg = IssueTestsConfig(max_snippets=1, use_hints=True)
    assert [t.test_id for t in issue_tests(_task(text, hints=SESSION_ISSUE), cfg)] == ["issue/1-raises"]
    assert [t.test_id for t in issue_tests(_task("", hints=SESSION_ISSUE), cfg)] == [
        "hints/1-actual",
        "hints/1-expected",
    ]
    assert issue_tests(_task(text), IssueTestsConfig(enabled=False)) == []


def test_script_with_traceback_exits_2_on_the_bug_0_when_fixed_1_on_another_error(calc_repo: Path) -> None:
    (test,) = issue_tests(_task(SCRIPT_ISSUE), CFG)
    assert test.test_id == "issue/1-raises"
    code, out = _run(calc_repo, test)
    assert code == 2, out
    assert "raised ZeroDivisionError, as in the issue" in out
    assert _codes(calc_repo, [test], FIXED) == {"issue/1-raises": 0}
    (calc_repo / "calc" / "__init__.py").write_text(BROKEN)  # raises ValueError, not the issue's exception
    code, out = _run(calc_repo, test)
    assert code == 1 and "not the issue's ZeroDivisionError" in out


def test_doctest_variants_let_the_original_code_decide(calc_repo: Path) -> None:
    tests = issue_tests(_task(SESSION_ISSUE), CFG)
    # session 2 follows "It should give": its output is the desired one, so no `actual` variant
    ids = ["issue/1-actual", "issue/1-expected", "issue/2-expected", "issue/3-actual", "issue/3-expected"]
    assert [t.test_id for t in tests] == ids
    # on the bug: session 1 shows the buggy output (actual reproduces), session 2 the desired one (expected
    # reproduces), session 3 an unchanged behaviour (actual "reproduces" everywhere: pruned by the pipeline)
    assert _codes(calc_repo, tests, BUGGY) == dict(zip(ids, [2, 0, 2, 2, 0], strict=True))
    assert _codes(calc_repo, tests, FIXED) == dict(zip(ids, [0, 2, 0, 2, 0], strict=True))
    # an unexpected exception (AttributeError: list has no .size) is a broken test, never a verdict
    assert _codes(calc_repo, tests, BROKEN) == dict(zip(ids, [1, 1, 1, 2, 0], strict=True))
    _, out = _run(calc_repo, tests[0])
    assert "--- example 2: unexpected" in out and "AttributeError" in out


def test_shown_traceback_prelude_and_name_resolution(calc_repo: Path) -> None:
    text = (
        "```\n>>> ratio('1/0')\nTraceback (most recent call last):\n  File ...\nZeroDivisionError: division by zero\n"
        ">>> half(mean([1, 2]))\n0.5\n```\n"
    )
    cfg = IssueTestsConfig(
        python=sys.executable, preludes=PRELUDE, resolve_from={"acme/calc": ["nope", "calc.extra"]}
    )
    ipython = (
        "```ipython\nIn [1]: ratio('2/0')\n"
        + "-" * 40
        + "\nZeroDivisionError      Traceback (most recent call last)\n"
        "<ipython-input-1-0123> in <module>\n----> 1 ratio('2/0')\n\n/calc/__init__.py in ratio(s)\n"
        "ZeroDivisionError: division by zero\n```\n"
    )
    assert extract(ipython)[0].source == (
        ">>> ratio('2/0')\nTraceback (most recent call last):\n  ...\nZeroDivisionError: ...\n"
    )  # the output stops at the blank line: the exception type is still matched, any message
    tests = issue_tests(_task(text + ipython), cfg)
    assert _codes(calc_repo, tests, BUGGY) == {
        "issue/1-actual": 2,
        "issue/1-expected": 0,
        "issue/2-actual": 2,
        "issue/2-expected": 0,
    }
    assert _codes(calc_repo, tests, FIXED) == {
        "issue/1-actual": 0,
        "issue/1-expected": 2,
        "issue/2-actual": 0,
        "issue/2-expected": 2,
    }
    # without prelude and resolution the names are unbound: a NameError is a broken test (exit 1)
    bare = issue_tests(_task(text, repo="other/repo"), CFG)  # the first session only
    assert _codes(calc_repo, bare, BUGGY) == {"issue/1-actual": 1, "issue/1-expected": 1}


def test_issue_test_files_do_not_dirty_the_work_tree(calc_repo: Path) -> None:
    (test,) = issue_tests(_task(SCRIPT_ISSUE), CFG)
    env = LocalEnv(LocalEnvConfig(repo=calc_repo, commit="HEAD"))
    try:
        clean = _fingerprint(env)
        env.write_file(test.path, test.content)
        assert env.execute(test.command, timeout=60).exit_code == 2
        env.execute(f"rm -f -- {test.path}", timeout=30)  # what run_pass_matrix does with isolation="checked"
        assert _fingerprint(env) == clean
    finally:
        env.close()


def _patch(repo: Path, content: str) -> str:
    (repo / "calc" / "__init__.py").write_text(content)
    diff = git(repo, "diff")
    git(repo, "checkout", "-q", "--", "calc/__init__.py")
    return diff + "\n"


def test_jury_picks_the_fix_from_issue_tests_alone(calc_repo: Path) -> None:
    sha = git(calc_repo, "rev-parse", "HEAD")
    patches = {
        "good": _patch(calc_repo, FIXED),
        "round": _patch(calc_repo, BUGGY.replace("sum(xs) // len(xs)", "round(sum(xs) / len(xs))")),
        "broken": _patch(calc_repo, BROKEN),
    }
    cands = [Candidate(instance_id="acme__calc-1", candidate_id=c, model_patch=p) for c, p in patches.items()]
    cfg = SelectionConfig(
        selector="staged",
        regression={"enabled": False},
        execution={"workers": 2, "issue_tests": {"python": sys.executable, "preludes": PRELUDE}},
    )
    verifier = jury_repo.TableVerifier({"round": 0.9, "broken": 0.8, "good": 0.3})  # fooled

    def factory() -> Env:
        return LocalEnv(LocalEnvConfig(repo=calc_repo, commit=sha))

    run = run_instance(_task(SESSION_ISSUE), cands, cfg, factory, verifier, progress=False)
    assert run.matrix is not None
    assert run.matrix.kept == ["issue/1-actual", "issue/2-expected"]  # issue/3-actual pruned
    assert run.decision.winner == "good"
    ev = {e.candidate_id: e for e in run.decision.evidence}
    assert (ev["good"].repro_pass, ev["round"].repro_pass, ev["broken"].repro_pass) == (2, 1, 0)
    reasons = "\n".join(run.decision.reasons)
    assert "no candidate came with reproduction tests; 5 test(s) generated from the issue text" in reasons
    assert "no candidate passes): issue/3-actual" in reasons
    md = render_markdown(run.decision, run.matrix)
    assert "| issue/1-actual (from the issue) | yes | yes |" in md


SETUP_ISSUE = """Set up:

```python
import calc as c
data = [1, 2]
```

then the mean is rounded down:

```
>>> c.mean(data)
1
```

and, in a later session,

```
>>> c.ratio("1/0")
Traceback (most recent call last):
ZeroDivisionError: division by zero
>>> avg = c.mean(data)
```

```
>>> c.mean(data + [avg])
1
```
"""


def test_earlier_blocks_and_sessions_are_setup_for_later_snippets(calc_repo: Path) -> None:
    snips = extract(SETUP_ISSUE)
    assert [len(s.setup) for s in snips] == [1, 2, 2]
    assert snips[0].setup == ("import calc as c\ndata = [1, 2]\n",)
    assert snips[1].setup[1] == "c.mean(data)\n"  # the first session's statements
    # the second session shows a traceback: it is not replayed as setup, so `avg` stays unbound in the third
    no_prelude = IssueTestsConfig(python=sys.executable)
    tests = issue_tests(_task(SETUP_ISSUE), no_prelude)
    codes = _codes(calc_repo, tests, BUGGY)
    assert codes["issue/1-actual"] == 2 and codes["issue/1-expected"] == 0  # reproduces with `c`, `data`
    assert codes["issue/3-actual"] == 1  # NameError: avg
    assert _codes(calc_repo, tests, FIXED)["issue/1-actual"] == 0
    # a setup block that raises is reported and skipped; the snippet still runs
    broken = _codes(
        calc_repo,
        issue_tests(_task("```python\nimport calc as c\n1/0\n```\n" + SETUP_ISSUE[8:]), no_prelude),
        BUGGY,
    )
    assert broken["issue/1-actual"] == 2


def test_prose_right_after_a_session_can_mark_its_output_correct() -> None:
    text = (
        "Simple models work:\n\n```python\n>>> f(1)\n2\n```\n\nThe output is, as expected, doubled.\n"
        "If however I nest them:\n\n```python\n>>> f(f(1))\n2\n```\n\nThis is wrong.\n"
    )
    assert [s.shows for s in extract(text)] == ["expected", "either"]
    # a single line after a session introduces the next block: it says nothing about the one before
    lone = "Rounds down:\n\n```\n>>> g(1)\n0\n```\n\nIt should give\n\n```\n>>> g(1)\n0.5\n```\n"
    assert [s.shows for s in extract(lone)] == ["either", "expected"]

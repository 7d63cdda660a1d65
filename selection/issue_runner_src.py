"""Body of every generated issue-derived reproduction test (standalone: stdlib only, Python >= 3.6; annotations are
quoted or local so that older interpreters in SWE-bench images can run it).

selection/issue_tests.py copies this file into the environment with the `SPEC = {}` line replaced by the
snippet's spec. Run from the repository root. Exit codes (the pass-matrix contract):
0 = the issue looks resolved, 2 = the issue is reproduced, 1 = the test is broken on this code (unexpected
exception, prelude or name failure). Modes:

- `actual` (doctest session showing the buggy behaviour): 2 when every checked example matches what the
  issue shows, 0 when some example differs and nothing raised unexpectedly, else 1.
- `expected` (doctest session showing the desired behaviour): 0 when every checked example matches, 2 when
  some example differs and nothing raised unexpectedly, else 1.
- `raises` (script followed by a traceback naming exception E): 2 when the script raises E (class name
  compared along the MRO), 0 when it completes, 1 when it raises anything else.

Examples with no shown output run but are not compared (issue transcripts often omit outputs).
"""

import ast
import builtins
import doctest
import importlib
import io
import os
import re
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, NoReturn

SPEC = {}  # type: dict[str, Any]
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
_QUALIFIED = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*(?::|$))")


def _cut(text: str) -> str:
    limit = int(SPEC.get("output_limit", 2000))
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]


def _finish(code: int, verdict: str) -> "NoReturn":
    print(f"issue-derived test ({SPEC.get('mode')}): {verdict} -> exit {code}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no atexit hooks or leftover threads may change the verdict


def _free_names(source: str) -> "list[str]":
    """Names the snippet reads and never binds (assignments, defs, imports, parameters)."""
    tree = ast.parse(source)
    loads: list[str] = []
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads.append(node.id)
            else:
                bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(set(loads) - bound)


def _namespace(source: str) -> "dict[str, Any]":
    """A fresh `__main__` namespace: repo root importable, prelude run, unbound names resolved."""
    sys.path[0] = os.getcwd()  # the repository root, not this file's hidden directory
    glb: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    try:
        exec(compile(SPEC.get("prelude", ""), "<prelude>", "exec"), glb)
    except BaseException as exc:  # noqa: BLE001 - reported as a broken test (exit 1), not hidden
        _finish(1, "the prelude failed: " + _cut("".join(traceback.format_exception_only(type(exc), exc))))
    for n, part in enumerate(SPEC.get("setup", []), 1):  # earlier code of the issue: best effort
        try:
            exec(compile(part, f"<issue setup {n}>", "exec"), glb)
        except Exception as exc:  # noqa: BLE001 - reported; the snippet then runs without what failed
            print(f"setup block {n} failed (continuing): {_cut(repr(exc))}")
    missing = [n for n in _free_names(source) if n not in glb and not hasattr(builtins, n)]
    for module in SPEC.get("resolve_from", []):
        if not missing:
            break
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue  # that module does not exist in this version of the repo: try the next one
        found = [n for n in missing if hasattr(mod, n)]
        glb.update({n: getattr(mod, n) for n in found})
        missing = [n for n in missing if n not in found]
    return glb


def _unqualify(text: str) -> str:
    return _QUALIFIED.sub("", text.lstrip())


class _Checker(doctest.OutputChecker):
    """doctest's comparison; empty shown output = not compared; `pkg.mod.Error: msg` matches `Error: msg`."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        if not want.strip():
            return True
        if super().check_output(want, got, optionflags):
            return True
        return super().check_output(_unqualify(want), _unqualify(got), optionflags)


class _Recorder(doctest.DocTestRunner):
    """Records one outcome per example: match / mismatch / unexpected (exception) / ran (nothing compared)."""

    def __init__(self) -> None:
        super().__init__(checker=_Checker(), verbose=False, optionflags=FLAGS)
        self.outcomes: list[tuple[str, str, str, str]] = []

    def report_start(self, out: Any, test: Any, example: Any) -> None:
        return None

    def report_success(self, out: Any, test: Any, example: Any, got: str) -> None:
        checked = bool(example.want.strip()) or example.exc_msg is not None
        self.outcomes.append(("match" if checked else "ran", example.source, example.want, got))

    def report_failure(self, out: Any, test: Any, example: Any, got: str) -> None:
        self.outcomes.append(("mismatch", example.source, example.want, got))

    def report_unexpected_exception(self, out: Any, test: Any, example: Any, exc_info: Any) -> None:
        got = "".join(traceback.format_exception(*exc_info)[-3:])
        self.outcomes.append(("unexpected", example.source, example.want, got))


def run_session() -> None:
    text = SPEC["source"]
    parser = doctest.DocTestParser()
    examples = parser.get_examples(text)
    glb = _namespace("\n".join(e.source for e in examples))
    test = doctest.DocTest(examples, glb, "issue", None, 0, text)
    runner = _Recorder()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    runner.run(test, out=lambda s: None, clear_globs=False)
    for i, (status, source, want, got) in enumerate(runner.outcomes, 1):
        print(f"--- example {i}: {status}\n>>> {_cut(source.rstrip())}")
        if status != "ran":
            print(f"shown in the issue:\n{_cut(want)}got:\n{_cut(got)}")
    states = [o[0] for o in runner.outcomes]
    if "unexpected" in states:
        _finish(1, "an example raised an exception the issue does not show")
    if "match" not in states and "mismatch" not in states:
        _finish(1, "no example has a shown output to compare")
    differs = "mismatch" in states
    if SPEC["mode"] == "actual":
        _finish(
            0 if differs else 2, "behaviour differs from the issue" if differs else "issue behaviour seen"
        )
    _finish(2 if differs else 0, "expected behaviour missing" if differs else "expected behaviour seen")


def run_script() -> None:
    source = SPEC["source"]
    glb = _namespace(source)
    expected = SPEC["exception"].rsplit(".", 1)[-1]
    buf = io.StringIO()
    raised: BaseException | None = None
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    try:
        with redirect_stdout(buf), redirect_stderr(buf):
            exec(compile(source, "<issue snippet>", "exec"), glb)
    except SystemExit as exc:
        raised = None if expected != "SystemExit" and exc.code in (0, None) else exc
    except BaseException as exc:  # noqa: BLE001 - the outcome under test: classified below, never hidden
        raised = exc
    print(_cut(buf.getvalue()))
    if raised is None:
        _finish(0, f"the script completed without {expected}")
    names = [cls.__name__ for cls in type(raised).__mro__]
    print(_cut("".join(traceback.format_exception(type(raised), raised, raised.__traceback__)[-4:])))
    if expected in names:
        _finish(2, f"raised {type(raised).__name__}, as in the issue")
    _finish(1, f"raised {type(raised).__name__}, not the issue's {expected}")


if __name__ == "__main__" and SPEC:
    run_script() if SPEC["mode"] == "raises" else run_session()

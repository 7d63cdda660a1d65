"""Which repository tests relate to the edited files (the regression signal's test selection).

Over the repository's tracked test files (`git ls-files`, names `test_*.py` / `*_test.py` / `tests.py`), for
every edited non-test Python file `a/b/mod.py` (module `mod`; for `a/b/__init__.py` the module is `b`; a private
module `_mod` also goes by `mod`, as `sklearn/compose/_column_transformer.py` is tested by
`sklearn/compose/tests/test_column_transformer.py`):

  rank 0  `test_mod.py` / `mod_test.py` whose directories (other than tests/test/testing) all appear in the
          edited file's path or package, the closest (most shared directories) only:
          `sympy/physics/units/util.py` -> `sympy/physics/units/tests/test_util.py`, never
          `sympy/calculus/tests/test_util.py`; `requests/models.py` -> `tests/test_models.py`
  rank 1  `test_mod_*.py` / `test_*_mod.py`, same rule; and the test files (`tests.py`, `test_*.py`) of a test
          directory named after the module (`mod`, `mod_tests`), as django lays its suite out:
          `django/core/validators.py` -> `tests/validators/tests.py`
  rank 2  (if `importers`) test files whose source imports the module (`import a.b.mod`,
          `from a.b.mod import`, `from a.b import mod`), found with `git grep`

A directory named `<x>_tests` counts as `<x>` in these rules (`django/utils/html.py` ->
`tests/utils_tests/test_html.py`). The best `max_files` files are returned: by rank, then those whose path names
an edited module (`django/utils/http.py` -> `tests/httpwrappers/tests.py` before `tests/admin_views/tests.py`,
which also imports it), then path.
"""

from __future__ import annotations

import re
import shlex
import uuid
from collections.abc import Sequence
from pathlib import PurePosixPath

from patchjury.envs.errors import EnvFileError
from patchjury.envs.protocol import Env, ExecResult
from patchjury.selection.config import RegressionConfig

_TEST_NAME = re.compile(r"(^|/)(test_[^/]*|[^/]*_test|tests)\.py$")
_TEST_DIRS = {"tests", "test", "testing"}
_NAMED = (("test_", ".py"), ("", "_test.py"))
"""(prefix, suffix) of the test file named after a module."""


def is_repo_test_file(path: str) -> bool:
    """`test_*.py`, `*_test.py`, or a django-style `tests.py`."""
    return bool(_TEST_NAME.search(path)) and path.endswith(".py")


def _unmarked(folder: str) -> str:
    """A directory name without its test marker: `utils_tests` -> `utils`."""
    return re.sub(r"_tests?$", "", folder)


def _test_dirs(path: str) -> set[str]:
    """A test file's directories, test markers dropped: `tests/utils_tests/x.py` -> {"utils"}."""
    dirs = set()
    for d in PurePosixPath(path).parent.parts:
        if d in _TEST_DIRS:
            continue
        dirs.add(_unmarked(d))
    return dirs


def _module_of(path: str) -> tuple[str, str] | None:
    """(short module name, dotted path) of an edited Python source file; None for non-Python files."""
    p = PurePosixPath(path)
    if p.suffix != ".py" or is_repo_test_file(path):
        return None
    parts = list(p.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return None
    if parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    return parts[-1], ".".join(parts)


def full_output(env: Env, command: str, timeout: float) -> tuple[str, ExecResult]:
    """Run `command` with its output sent to a file, then read the whole file: Env output is truncated
    (head + tail) and a big repository's file list or a long pytest summary must not lose its middle."""
    log = f"/tmp/patchjury-{uuid.uuid4().hex}.log"
    res = env.execute(f"( {command} ) > {log} 2>&1", timeout=timeout)
    try:
        text = env.read_file(log)
    except EnvFileError:
        text = ""
    env.execute(f"rm -f {log}", timeout=60)
    return text, res


def related_test_files(env: Env, edited: Sequence[str], config: RegressionConfig) -> list[str]:
    """Tracked test files related to `edited` files, best first (see the module docstring)."""
    listing, res = full_output(env, "git ls-files -z -- '*.py'", 300)
    if res.exit_code != 0:
        return []
    tests = sorted(p for p in listing.split("\0") if p and is_repo_test_file(p))
    base = {t: PurePosixPath(t).name for t in tests}
    ranks: dict[str, int] = {}
    shorts: set[str] = set()  # edited modules' short names: paths naming one come first within a rank

    def offer(path: str, rank: int) -> None:
        ranks[path] = min(rank, ranks.get(path, rank))

    for src in edited:
        mod = _module_of(src)
        if mod is None:
            continue
        short, dotted = mod
        # a private module is tested under its public name: `_column_transformer.py` -> `test_column_transformer.py`
        names = {short, short.lstrip("_")} - {""}
        shorts |= names
        src_dirs = set(dotted.split(".")[:-1]) | set(PurePosixPath(src).parent.parts)
        wanted = {f"{p}{n}{q}" for n in names for p, q in _NAMED}
        named = [t for t in tests if base[t] in wanted]
        prefixed = [
            t
            for t in tests
            if base[t] not in wanted
            and any(
                base[t].startswith(f"test_{n}_")
                or (base[t].startswith("test_") and base[t].endswith(f"_{n}.py"))
                for n in names
            )
        ]
        for rank, group in ((0, named), (1, prefixed)):
            if not group:
                continue
            dirs = {t: _test_dirs(t) for t in group}
            near = {t: len(d) for t, d in dirs.items() if d <= src_dirs}  # no directory foreign to the source
            best = max(near.values(), default=-1)
            for t, n in near.items():
                if n == best:
                    offer(t, rank)
        for t in tests:
            folder = PurePosixPath(t).parent.name
            if folder not in _TEST_DIRS and _unmarked(folder) in names:
                offer(t, 1)
        if config.importers and tests:
            parent, _, leaf = dotted.rpartition(".")
            pats = [rf"^\s*(import|from)\s+{re.escape(dotted)}(\s|\.|,|$)"]
            if parent:
                pats.append(rf"^\s*from\s+{re.escape(parent)}\s+import\s+.*\b{re.escape(leaf)}\b")
            args = " ".join(f"-e {shlex.quote(p)}" for p in pats)
            grep, _ = full_output(env, f"git grep -l -E {args} -- '*.py'", 300)
            for t in grep.splitlines():
                if t.strip() in tests:
                    offer(t.strip(), 2)
    return sorted(ranks, key=lambda t: (ranks[t], not any(x in t for x in shorts), t))[: config.max_files]

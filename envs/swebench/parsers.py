"""Test-log parsers: test output -> {test name: status}, compatible with the names in SWE-bench's
FAIL_TO_PASS/PASS_TO_PASS lists.

Statuses are PASSED, FAILED, SKIPPED, ERROR, XFAIL. Parsers are registered under the names the dataset's
`log_parser` column uses (`parse_log_pytest`, `parse_log_django`, ...). For pytest-style lines whose test id
contains spaces (parametrized ids), both the full id and the id cut at the first space are recorded: the
SWE-bench lists were produced by parsers that cut at the first space, newer ones keep the whole id.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from patchjury.envs.swebench.errors import ParserError

PASSED, FAILED, SKIPPED, ERROR, XFAIL = "PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL"
STATUSES = (FAILED, PASSED, SKIPPED, ERROR, XFAIL)

Parser = Callable[[str], dict[str, str]]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\[(\d+)m")
_CONTROL = str.maketrans("", "", "".join(chr(c) for c in range(1, 32) if c != 9))
_SKIP_COUNT = re.compile(r"^\[\d+\]")
_OPTION = re.compile(r"^(.*?)\[(.*)\]$")


def strip_ansi(line: str) -> str:
    """Remove ANSI colour codes (and bare `[31m` left-overs) and control characters."""
    return _ANSI.sub("", line).translate(_CONTROL)


def _status_prefix(line: str) -> tuple[str, str] | None:
    """`STATUS rest` -> (status, rest) for a pytest -rA short summary line."""
    for status in STATUSES:
        if line.startswith(status) and (len(line) == len(status) or line[len(status)] in " \t"):
            return status, line[len(status) :].strip()
    return None


def _record(
    out: dict[str, str], status: str, rest: str, normalize: Callable[[str], str] | None = None
) -> None:
    if status in (FAILED, ERROR) and " - " in rest:
        rest = rest.split(" - ", 1)[0].rstrip()
    if not rest or (status == SKIPPED and _SKIP_COUNT.match(rest)):
        return
    first = rest.split()[0]
    names = {first, rest} if rest != first else {rest}
    for name in names:
        out[normalize(name) if normalize else name] = status


def parse_log_pytest(log: str) -> dict[str, str]:
    """pytest `-rA` short test summary: `PASSED path::test`, `FAILED path::test - msg`, `ERROR ...`."""
    out: dict[str, str] = {}
    for raw in log.splitlines():
        hit = _status_prefix(raw)
        if hit:
            _record(out, *hit)
    return out


def _shorten_path_option(name: str) -> str:
    m = _OPTION.match(name)
    if not m:
        return name
    main, option = m.groups()
    if option.startswith("/") and not option.startswith("//") and "*" not in option:
        option = "/" + option.split("/")[-1]
    return f"{main}[{option}]"


def parse_log_pytest_options(log: str) -> dict[str, str]:
    """pytest, with parametrized path options shortened to their last component (requests, pylint,
    pydicom), since the ids there embed machine-specific absolute paths."""
    out: dict[str, str] = {}
    for raw in log.splitlines():
        hit = _status_prefix(raw)
        if hit:
            _record(out, *hit, normalize=_shorten_path_option)
    return out


def parse_log_pytest_v2(log: str) -> dict[str, str]:
    """pytest with colour codes stripped; also old-style `path::test STATUS` lines (astropy, sklearn, sphinx)."""
    out: dict[str, str] = {}
    for raw in log.splitlines():
        line = strip_ansi(raw).strip()
        hit = _status_prefix(line)
        if hit:
            _record(out, *hit)
            continue
        parts = line.split()
        if len(parts) >= 2 and parts[-1] in STATUSES:
            out[parts[0]] = parts[-1]
            out[" ".join(parts[:-1])] = parts[-1]
    return out


def parse_log_matplotlib(log: str) -> dict[str, str]:
    """pytest, with `MouseButton.LEFT/RIGHT` in ids written as 1/3 (as the dataset's names are)."""
    return parse_log_pytest(log.replace("MouseButton.LEFT", "1").replace("MouseButton.RIGHT", "3"))


def parse_log_seaborn(log: str) -> dict[str, str]:
    """seaborn: `FAILED id`, `PASSED id` and verbose `id PASSED [ n%]` lines."""
    out: dict[str, str] = {}
    for raw in log.splitlines():
        parts = raw.split()
        if len(parts) < 2:
            continue
        if parts[0] == FAILED:
            out[parts[1]] = FAILED
        elif parts[1] == PASSED:
            out[parts[0]] = PASSED
        elif parts[0] == PASSED:
            out[parts[1]] = PASSED
    return out


_SYMPY_FAILURE = re.compile(r"^_+ (\S+\.py):(\S+) _+\s*$")


def parse_log_sympy(log: str) -> dict[str, str]:
    """sympy's `bin/test -C --verbose`: `test_name ok|F|E` lines, and `___ path.py:test_name ___` failure
    headers (recorded as `path.py:test_name` FAILED)."""
    out: dict[str, str] = {}
    for raw in log.splitlines():
        m = _SYMPY_FAILURE.match(raw.strip())
        if m:
            out[f"{m.group(1)}:{m.group(2)}"] = FAILED
            continue
        line = raw.strip()
        if not line.startswith("test_"):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        mark = parts[-1]
        if mark == "ok":
            out[parts[0]] = PASSED
        elif mark == "F":
            out[parts[0]] = FAILED
        elif mark == "E":
            out[parts[0]] = ERROR
        elif mark in ("s", "f", "w"):
            out.setdefault(parts[0], SKIPPED if mark == "s" else XFAIL if mark == "f" else SKIPPED)
    return out


_DJANGO_OK = (" ... ok", " ... OK", " ...  OK")
_DJANGO_INTERRUPTED = [
    re.compile(r"^(.*?)\s\.\.\.\sTesting against Django installed in (?s:.*?) silenced\)\.\nok$", re.M),
    re.compile(r"^(.*?)\s\.\.\.\sInternal Server Error: /(.*)/\nok$", re.M),
    re.compile(r"^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$", re.M),
]


#: A unittest description line holding only the test's name: its docstring's first line follows.
_DJANGO_HEADER = re.compile(r"^\w+ \([\w.]+\)$")


def parse_log_django(log: str) -> dict[str, str]:
    """Django's runtests.py --verbosity 2 (and plain `unittest -v`): `name (module.Class) ... ok|FAIL|ERROR|
    skipped`, `FAIL: name (...)` headers, and results printed on the next line after extra output.

    A test whose docstring starts with a newline is printed as `name (module.Class)` then its first docstring
    line and the result by Python >= 3.9 (unittest strips the docstring), but on one line by the Python 3.6/3.8
    of the official Django images (their first line is empty): both names get the result, so a dataset made with
    either Python grades the same here. When other output (the runner's "System check identified no issues",
    "Testing against Django installed in ...") splits the docstring line from its `ok`, the name gets it too."""
    out: dict[str, str] = {}
    pending: str | None = None
    header: str | None = None
    header_of: dict[str, str] = {}  # docstring line -> test name, when the result comes after other output
    for raw in log.splitlines():
        line = raw.strip()
        if header is not None and " ... " in line and not _DJANGO_HEADER.match(line.split(" ... ")[0]):
            result = _django_line(line)
            if result is not None:
                out[header] = result
            else:
                header_of[line.split(" ... ")[0]] = header
        header = line if _DJANGO_HEADER.match(line) else None
        if "--version is equivalent to version" in line:
            out["--version is equivalent to version"] = PASSED
        if " ... " in line:
            pending = line.split(" ... ")[0]
        done = False
        for suffix in _DJANGO_OK:
            if line.endswith(suffix):
                name = line[: -len(suffix)]
                if name.startswith("Applying sites.0002_alter_domain_unique..."):
                    name = name.split("...", 1)[-1].strip()
                out[name] = PASSED
                done = True
                break
        if done:
            continue
        if " ... skipped" in line:
            out[line.split(" ... skipped")[0]] = SKIPPED
        elif line.endswith(" ... FAIL") or line.endswith(" ... expected failure"):
            name = line.rsplit(" ... ", 1)[0]
            out[name] = FAILED if line.endswith("FAIL") else XFAIL
        elif line.endswith(" ... ERROR"):
            out[line.split(" ... ERROR")[0]] = ERROR
        elif line.startswith(("FAIL:", "ERROR:")) and len(line.split()) > 1:
            status = FAILED if line.startswith("FAIL:") else ERROR
            tokens = line.split(":", 1)[1].split()
            for name in {tokens[0], " ".join(tokens[:2]), " ".join(tokens)}:
                out[name] = status
        elif re.match(r"ok\b", line) and pending is not None:
            out[pending] = PASSED
            if pending in header_of:
                out[header_of[pending]] = PASSED
            pending = None
    for pattern in _DJANGO_INTERRUPTED:
        for m in pattern.finditer(log):
            out[m.group(1)] = PASSED
            if m.group(1).strip() in header_of:
                out[header_of[m.group(1).strip()]] = PASSED
    return out


def _django_line(line: str) -> str | None:
    """The status a `... ok|FAIL|ERROR|skipped` line ends with, or None."""
    if line.endswith(_DJANGO_OK):
        return PASSED
    if " ... skipped" in line:
        return SKIPPED
    if line.endswith(" ... FAIL"):
        return FAILED
    if line.endswith(" ... expected failure"):
        return XFAIL
    if line.endswith(" ... ERROR"):
        return ERROR
    return None


#: Every parser by the name the dataset's `log_parser` field uses (plus short aliases).
PARSERS: dict[str, Parser] = {
    "parse_log_pytest": parse_log_pytest,
    "parse_log_pytest_options": parse_log_pytest_options,
    "parse_log_pytest_v2": parse_log_pytest_v2,
    "parse_log_django": parse_log_django,
    "parse_log_sympy": parse_log_sympy,
    "parse_log_seaborn": parse_log_seaborn,
    "parse_log_matplotlib": parse_log_matplotlib,
    "parse_log_astroid": parse_log_pytest,
    "parse_log_flask": parse_log_pytest,
    "parse_log_marshmallow": parse_log_pytest,
    "parse_log_pvlib": parse_log_pytest,
    "parse_log_pyvista": parse_log_pytest,
    "parse_log_sqlfluff": parse_log_pytest,
    "parse_log_xarray": parse_log_pytest,
    "parse_log_pydicom": parse_log_pytest_options,
    "parse_log_requests": parse_log_pytest_options,
    "parse_log_pylint": parse_log_pytest_options,
    "parse_log_astropy": parse_log_pytest_v2,
    "parse_log_scikit": parse_log_pytest_v2,
    "parse_log_sphinx": parse_log_pytest_v2,
}
PARSERS.update({"pytest": parse_log_pytest, "django": parse_log_django, "sympy": parse_log_sympy})
PARSERS["unittest"] = parse_log_django

#: Default parser per repo, for instances of the older schema (no `log_parser` field).
REPO_PARSERS = {
    "astropy/astropy": "parse_log_astropy",
    "django/django": "parse_log_django",
    "marshmallow-code/marshmallow": "parse_log_marshmallow",
    "matplotlib/matplotlib": "parse_log_matplotlib",
    "mwaskom/seaborn": "parse_log_seaborn",
    "pallets/flask": "parse_log_flask",
    "psf/requests": "parse_log_requests",
    "pvlib/pvlib-python": "parse_log_pvlib",
    "pydata/xarray": "parse_log_xarray",
    "pydicom/pydicom": "parse_log_pydicom",
    "pylint-dev/astroid": "parse_log_astroid",
    "pylint-dev/pylint": "parse_log_pylint",
    "pytest-dev/pytest": "parse_log_pytest",
    "pyvista/pyvista": "parse_log_pyvista",
    "scikit-learn/scikit-learn": "parse_log_scikit",
    "sqlfluff/sqlfluff": "parse_log_sqlfluff",
    "sphinx-doc/sphinx": "parse_log_sphinx",
    "sympy/sympy": "parse_log_sympy",
}


def get_parser(name: str) -> Parser:
    """The parser registered as `name`; ParserError listing the known names otherwise."""
    try:
        return PARSERS[name]
    except KeyError:
        raise ParserError(
            f"unknown log parser {name!r}; known: {', '.join(sorted(PARSERS))} "
            "(set `log_parser` in the recipe)"
        ) from None


def parser_name_for(repo: str, instance_parser: str | None = None, recipe_parser: str | None = None) -> str:
    """Recipe's choice, else the instance's `log_parser`, else the repo default, else pytest."""
    return recipe_parser or instance_parser or REPO_PARSERS.get(repo, "parse_log_pytest")

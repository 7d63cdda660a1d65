"""Canonical form of a patch, so that equivalent candidates compare equal.

A diff does not carry whole files, so normalization works on the changed text itself:

1. Parse the diff leniently (selection.patch_parse). Files whose path is a test file (`is_test_path`) or a
   reproduction/scratch script (`is_repro_script`, or any new `.py` file at the repository root) are dropped, as are
   paths matched by the caller's `drop_paths` (e.g. a candidate's own reproduction tests).
2. Each hunk is cut into change runs (consecutive `-`/`+` lines between context lines). Context lines and hunk
   line numbers are ignored, so different context sizes or offsets do not matter.
3. Each side of a run (removed block, added block) is canonicalized. For Python files the block is dedented and, when
   it parses on its own, replaced by `ast.unparse` of its tree with bare string statements (docstrings) removed; this
   erases comments, blank lines, line wrapping, quote style and spacing. When it does not parse (a block cut in the
   middle of a statement), each line is tokenized on its own and rejoined with single spaces, dropping comments;
   string literals are re-rendered through `repr(literal_eval(...))`. Other files: whitespace is collapsed, blank
   lines and comment-only lines (by file extension) are dropped. The block's base indentation is kept as a prefix, so
   moving code between nesting levels still counts as a change.
4. A run whose canonical removed and added sides are equal (a whitespace- or comment-only edit) is dropped; a file
   with no remaining runs is dropped (unless it is deleted, renamed or binary).

The result is a canonical diff text (files sorted by path, `@@` per run) meant as a clustering key, not for applying.
An empty string means nothing but test, whitespace or comment changes remained.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Callable

from patchjury.selection.patch_parse import FileDiff, parse_diff

_REPRO_RE = re.compile(
    r"^(repro|reproduce|reproduction|reproducer|bug_repro|debug_|scratch|test_issue|test_fix|test_bug|verify_)"
)
_LINE_COMMENT = {
    "#": (".py", ".pyi", ".sh", ".cfg", ".toml", ".yaml", ".yml", ".ini", ".txt", ".r", ".pl", ".rb"),
    "//": (
        ".js",
        ".ts",
        ".jsx",
        ".tsx",
        ".c",
        ".h",
        ".cc",
        ".cpp",
        ".hpp",
        ".java",
        ".go",
        ".rs",
        ".kt",
        ".cs",
    ),
}
_SKIP_TOKENS = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.NEWLINE,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}


def is_test_path(path: str) -> bool:
    """True for files of a test suite: under a `tests` directory, a top-level `testing` directory or a `test`
    directory (except `<pkg>/test/`, which is library code in e.g. `django/test/`), or named `test_*.py`,
    `*_test.py`, `*_tests.py`, `tests.py`, `conftest.py`.
    """
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    if not parts:
        return False
    name = parts[-1].lower()
    dirs = [p.lower() for p in parts[:-1]]
    if (
        name in {"conftest.py", "tests.py"}
        or name.startswith("test_")
        or name.endswith(("_test.py", "_tests.py"))
    ):
        return True
    if dirs and dirs[0] == "testing":
        return True
    for depth, d in enumerate(dirs):
        if d == "tests" or d == "__tests__":
            return True
        if d == "test" and not (depth == 1 and len(dirs) >= 2):
            return True  # `<pkg>/test/...` (e.g. django/test/utils.py) is library code
    return False


def is_repro_script(path: str) -> bool:
    """True for reproduction/scratch scripts an agent leaves behind (reproduce_bug.py, repro.py, debug_x.py...)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return bool(_REPRO_RE.match(name)) or "reproduc" in name


def default_drop(path: str) -> bool:
    """Paths dropped by default: test files and reproduction scripts."""
    return is_test_path(path) or is_repro_script(path)


def _literal(tok: str) -> str:
    try:
        return repr(ast.literal_eval(tok))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return tok


def _python_line(line: str) -> str:
    """Tokens of one Python line joined by single spaces, comments dropped; falls back to whitespace collapse."""
    text = line.strip()
    if not text or text.startswith("#"):
        return ""
    toks: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in _SKIP_TOKENS:
                continue
            toks.append(_literal(tok.string) if tok.type == tokenize.STRING else tok.string)
    except tokenize.TokenError as exc:
        if "string" in str(exc):  # unterminated (multi-line) string: keep the raw text
            return " ".join(text.split())
    except (IndentationError, SyntaxError):
        return " ".join(text.split())
    return " ".join(toks)


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop docstrings of functions and classes (a bare string at block level may be a wrapped literal)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        first = node.body[0] if node.body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            node.body = node.body[1:] or [ast.Pass()]


def _indent(lines: list[str]) -> str:
    widths = [len(ln.expandtabs(4)) - len(ln.expandtabs(4).lstrip()) for ln in lines if ln.strip()]
    return " " * min(widths) if widths else ""


def _python_block(lines: list[str]) -> list[str]:
    if not any(ln.strip() for ln in lines):
        return []
    prefix = _indent(lines)
    expanded = [ln.expandtabs(4) for ln in lines]
    dedented = "\n".join(ln[len(prefix) :] if ln.strip() else "" for ln in expanded)
    try:
        tree = ast.parse(dedented)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        out = [_python_line(ln) for ln in lines]
        return [prefix + ln for ln in out if ln]
    _strip_docstrings(tree)
    text = ast.unparse(tree)
    return [prefix + ln for ln in text.splitlines() if ln.strip()]


def _plain_block(lines: list[str], path: str) -> list[str]:
    prefix = _indent(lines)
    low = path.lower()
    markers = tuple(m for m, exts in _LINE_COMMENT.items() if low.endswith(exts))
    out = []
    for ln in lines:
        text = " ".join(ln.split())
        if not text or (markers and text.startswith(markers)):
            continue
        out.append(prefix + text)
    return out


def canonical_block(lines: list[str], path: str) -> list[str]:
    """Canonical lines of one side of a change run (see module docstring)."""
    if path.lower().endswith((".py", ".pyi")):
        return _python_block(lines)
    return _plain_block(lines, path)


def _runs(f: FileDiff) -> list[tuple[list[str], list[str]]]:
    runs: list[tuple[list[str], list[str]]] = []
    for hunk in f.hunks:
        rem: list[str] = []
        add: list[str] = []
        for ln in hunk.lines:
            tag = ln[:1]
            if tag == "-":
                rem.append(ln[1:])
            elif tag == "+":
                add.append(ln[1:])
            elif tag == " ":
                if rem or add:
                    runs.append((rem, add))
                rem, add = [], []
        if rem or add:
            runs.append((rem, add))
    return runs


def canonical_file(f: FileDiff) -> str:
    """Canonical text of one file's changes, or '' when only whitespace/comments change."""
    path = f.path
    parts = []
    for rem, add in _runs(f):
        crem, cadd = canonical_block(rem, path), canonical_block(add, path)
        if crem == cadd:
            continue
        parts.append("@@\n" + "".join(f"-{x}\n" for x in crem) + "".join(f"+{x}\n" for x in cadd))
    structural = f.is_deleted or f.is_binary or any(fl.startswith("rename") for fl in f.flags)
    if not parts and not structural:
        return ""
    old = f.old_path or "/dev/null"
    new = f.new_path or "/dev/null"
    flags = "".join(f"{fl}\n" for fl in f.flags if not fl.startswith(("new file mode", "deleted file mode")))
    return f"--- {old}\n+++ {new}\n{flags}" + "".join(parts)


def kept_files(patch: str, drop_paths: Callable[[str], bool] | None = None) -> list[FileDiff]:
    """File sections of `patch` that survive the path filters (see module docstring, step 1)."""
    files = parse_diff(patch)
    out = []
    for f in files:
        path = f.path
        if default_drop(path) or (drop_paths is not None and drop_paths(path)):
            continue
        if f.is_new and "/" not in path and path.endswith(".py") and path != "setup.py":
            continue  # a new top-level script is a scratch/reproduction file, never the fix
        out.append(f)
    return out


def normalize_patch(patch: str, drop_paths: Callable[[str], bool] | None = None) -> str:
    """Canonical diff of `patch` (see module docstring); '' if nothing but tests/whitespace/comments changed.

    `drop_paths` adds paths to drop on top of the defaults (test files and reproduction scripts). Raises
    selection.errors.PatchFormatError when `patch` is not a unified diff.
    """
    files = kept_files(patch, drop_paths)
    texts = sorted((f.path, canonical_file(f)) for f in files)
    return "".join(t for _, t in texts if t)

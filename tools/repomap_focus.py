"""Repository map: what the ranking is personalized toward — files and identifiers a text (an issue) names.

Identifiers count more when written like code (in backticks or a code block, called `f(`, dotted `a.b`,
snake_case or CamelCase with inner capitals) than as plain words, and more when mentioned repeatedly. Files
count when named by path (also inside tracebacks), by dotted module path, by file name, or by module stem.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from patchjury.tools.repomap import FileTags

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PATHLIKE = re.compile(r"[A-Za-z0-9_./\\-]+")
CODE_SPAN = re.compile(r"```.*?(?:```|$)|`[^`\n]+`", re.DOTALL)
#: Module stems too generic to mean a file when mentioned alone.
GENERIC_STEMS = {
    "test",
    "tests",
    "util",
    "utils",
    "core",
    "base",
    "main",
    "common",
    "init",
    "setup",
    "conftest",
}
PLAIN_WORD_WEIGHT = 0.25


@dataclass
class Focus:
    """Files and identifiers to personalize toward, each with a weight in (0, 1]."""

    files: dict[str, float] = field(default_factory=dict)
    idents: dict[str, float] = field(default_factory=dict)


def _code_like(text: str, start: int, end: int, word: str, spans: list[tuple[int, int]]) -> bool:
    if any(a <= start < b for a, b in spans):
        return True
    if text[end : end + 1] == "(" or re.match(r"\.[A-Za-z_]", text[end : end + 2]):
        return True  # called, or the object of an attribute access
    if start >= 2 and re.match(r"[A-Za-z0-9_)\]]\.", text[start - 2 : start]):
        return True  # an attribute: obj.word (a sentence's full stop does not count)
    return "_" in word.strip("_") or bool(re.search(r"[a-z][A-Z]", word))


def find_focus(tags: dict[str, FileTags], text: str, files: Iterable[str] = ()) -> Focus:
    """Files and defined identifiers that `text` or `files` name, with weights."""
    focus = Focus()
    spans = [m.span() for m in CODE_SPAN.finditer(text)]
    defined = {d.name for t in tags.values() for d in t.defs}
    best: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for m in WORD.finditer(text):
        word = m.group()
        if len(word) < 3 or word not in defined:
            continue
        weight = 1.0 if _code_like(text, m.start(), m.end(), word, spans) else PLAIN_WORD_WEIGHT
        best[word] = max(best[word], weight)
        count[word] += 1
    for word, weight in best.items():
        focus.idents[word] = weight * min(1.0, 0.6 + 0.2 * (count[word] - 1))
    explicit = [f.strip().lstrip("./") for f in files if f.strip()]
    tokens = {t.strip(".,:;'\"`()[]{}<>") for t in PATHLIKE.findall(text.replace("\\", "/"))} - {""}
    code_words = {w for w, weight in best.items() if weight == 1.0} | {
        m.group() for a, b in spans for m in WORD.finditer(text[a:b])
    }
    for path in tags:
        module = path[:-3].replace("/", ".")
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        base = path.rsplit("/", 1)[-1]
        stem = base[:-3]
        if any(_names_file(token, path, module, base) for token in [*explicit, *tokens]):
            focus.files[path] = 1.0
        elif len(stem) >= 4 and stem not in GENERIC_STEMS and stem in code_words:
            focus.files[path] = 0.5
    focus.files = _longest_modules(focus.files)
    return focus


def _names_file(token: str, path: str, module: str, base: str) -> bool:
    """Whether `token` names `path` (as a path, a path suffix, its file name, or a dotted module path)."""
    if token == path or path.endswith("/" + token) or token.endswith("/" + path):
        return True
    if token == base and base != "__init__.py":
        return True
    if "." not in token or token.endswith(".py"):
        return False
    # `pkg.mod.Class.method` names pkg/mod.py (and pkg/__init__.py, dropped later by _longest_modules);
    # a dotted tail such as `ascii.rst` names astropy/io/ascii/rst.py.
    return token == module or token.startswith(module + ".") or module.endswith("." + token)


def _longest_modules(found: dict[str, float]) -> dict[str, float]:
    """Drop a package __init__.py when a module inside it was matched too (pkg.mod matches pkg/__init__.py)."""
    out = dict(found)
    for path in found:
        if path.endswith("__init__.py"):
            pkg = path[: -len("__init__.py")]
            if any(p != path and p.startswith(pkg) for p in found):
                out.pop(path, None)
    return out

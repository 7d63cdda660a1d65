"""Agent scratch files in submitted patches: found, stripped before the patch is applied, and recorded.

SWE-agent runs of 2024 submitted their reproduction scripts (and notes, sqlite files, whole sample projects) as new
files of the patch. Applied as they are, a candidate's `reproduce.py` would sit where another candidate's test of
the same name is written, and a root `conftest.py`, `pytest.ini` or `.coveragerc` would change how every test
runs. Only NEW files are ever stripped (a patch's edits of existing files are its fix), when one of these holds:

- the path is a script some candidate of the pool carries as a test (its own copy of a test);
- the file sits at the repository root (`reproduce.py`, `settings.py`, `index.rst`, `mydatabase`, `.pylintrc`...):
  a fix does not add root files to these repositories;
- its top-level directory does not exist at the base commit (`django_example/...`, `docs/_build/...` in a
  repository whose docs live in `doc/`), when the base commit's top-level entries are known;
- its name marks it as scratch anywhere: a reproduction script (selection.normalize.is_repro_script), a backup or
  leftover (`*_backup.py`, `*.orig`, `*.rej`, `*.bak`, `*.pyc`), a database or pickle, a coverage file, anything
  under `__pycache__/` or `_build/`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from patchjury.selection.normalize import is_repro_script

_SCRATCH_NAME = re.compile(
    r"(?i)(_backup\.py|\.orig|\.rej|\.bak|\.pyc|\.sqlite3?|\.db|\.pickle|\.pkl)$|^\.coverage|^mydatabase$"
)
_SCRATCH_DIRS = {"__pycache__", "_build", ".pytest_cache"}
_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


@dataclass(frozen=True)
class Section:
    """One file's part of a patch, as text, with the paths it names."""

    text: str
    path: str
    is_new: bool


def _path_of(raw: str) -> str | None:
    raw = raw.split("\t")[0].strip().strip('"')
    if raw == "/dev/null":
        return None
    return raw[2:] if raw.startswith(("a/", "b/")) else raw


def _header_pair(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _starts(lines: list[str]) -> list[int]:
    """Line numbers where file sections start. Hunk bodies are skipped by their line counts (a removed `-- x`
    line reads `--- x`), but a `diff --git` line, or a `---`/`+++` pair followed by a hunk header, always starts a
    new file: a wrong count never merges two files (selection.patch_parse reads hunks the same way)."""
    starts: list[int] = []
    git_open = False  # the current section is a git one whose ---/+++ pair is still to come
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if line.startswith("diff --git "):
            starts.append(i)
            git_open, i = True, i + 1
        elif _header_pair(lines, i):
            if not git_open:
                starts.append(i)
            git_open, i = False, i + 2
        elif (m := _HUNK.match(line)) and starts:
            old, new = int(m.group(1) or 1), int(m.group(2) or 1)
            i += 1
            while i < n and (old > 0 or new > 0):
                body = lines[i]
                if body.startswith("diff --git ") or (
                    _header_pair(lines, i) and i + 2 < n and lines[i + 2].startswith("@@")
                ):
                    break
                tag = body[:1]
                if tag in (" ", "\n", ""):
                    old, new = old - 1, new - 1
                elif tag == "-":
                    old -= 1
                elif tag == "+":
                    new -= 1
                elif tag != "\\":
                    break
                i += 1
        else:
            i += 1
    return starts


def sections(patch: str) -> list[Section]:
    """The patch cut into per-file sections (git `diff --git` headers or plain `--- `/`+++ ` pairs); text before
    the first header is dropped, the concatenated sections give back the rest exactly."""
    lines = patch.splitlines(keepends=True)
    starts = _starts(lines)
    out = []
    for n, start in enumerate(starts):
        chunk = lines[start : starts[n + 1] if n + 1 < len(starts) else len(lines)]
        old = new = None
        for j in range(len(chunk)):
            if _header_pair(chunk, j):
                old, new = _path_of(chunk[j][4:]), _path_of(chunk[j + 1][4:])
                break
        if old is None and new is None and chunk[0].startswith("diff --git "):
            rest = chunk[0][len("diff --git ") :].rstrip("\n")
            at = rest.rfind(" b/")
            new = _path_of(rest[at + 1 :]) if at >= 0 else None
        created = any(ln.startswith("new file mode") for ln in chunk) or (
            old is None and new is not None and any(ln.startswith("--- /dev/null") for ln in chunk)
        )
        out.append(Section("".join(chunk), new or old or "", created))
    return out


def is_scratch(path: str, test_paths: Collection[str] = (), top_level: Collection[str] | None = None) -> bool:
    """Whether a NEW file at `path` is agent scratch (see the module docstring)."""
    path = path.lstrip("./")
    parts = path.split("/")
    if path in test_paths or len(parts) == 1:
        return True
    if top_level is not None and parts[0] not in top_level:
        return True
    if any(p in _SCRATCH_DIRS for p in parts[:-1]):
        return True
    return bool(_SCRATCH_NAME.search(parts[-1])) or is_repro_script(path)


def strip_scratch(
    patch: str, test_paths: Collection[str] = (), top_level: Collection[str] | None = None
) -> tuple[str, list[str]]:
    """(the patch without its scratch files, the stripped paths). A patch that is not a diff comes back
    unchanged (applying it then reports the problem)."""
    cut = sections(patch)
    if not cut:
        return patch, []
    normalized_tests = {p.lstrip("./") for p in test_paths}
    kept: list[str] = []
    stripped: list[str] = []
    for sec in cut:
        if sec.is_new and is_scratch(sec.path, normalized_tests, top_level):
            stripped.append(sec.path)
        else:
            kept.append(sec.text)
    return "".join(kept), stripped


def without(patch: str, paths: Collection[str]) -> str:
    """The patch without the sections of `paths` (e.g. the scratch files stripped when it was applied)."""
    if not paths:
        return patch
    return "".join(sec.text for sec in sections(patch) if sec.path not in paths)

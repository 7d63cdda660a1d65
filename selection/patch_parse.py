"""A lenient unified-diff parser (git and plain `diff -u` output) used by normalization and features.

Model-written patches often carry wrong hunk line counts or stray text between files; `git apply` and `patch`
cope with some of that, so this parser trusts hunk counts while they are consistent and otherwise ends a hunk at
the first line that cannot belong to it. It raises PatchFormatError only when no file section can be found or a
hunk header is malformed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from patchjury.selection.errors import PatchFormatError


def patch_sha1(patch: str | None) -> str:
    """The key of a patch in saved evidence files (static-check reports, execution signals): sha1 of its text."""
    return hashlib.sha1((patch or "").encode()).hexdigest()


_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FLAG_PREFIXES = ("new file mode", "deleted file mode", "rename from", "rename to", "copy from", "copy to")
_META_PREFIXES = ("index ", "similarity index", "dissimilarity index", "old mode", "new mode")


@dataclass
class Hunk:
    """One `@@` hunk: its header and raw body lines (each starting with ' ', '-', '+' or '\\')."""

    header: str
    lines: list[str] = field(default_factory=list)

    @property
    def added(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln.startswith("+")]

    @property
    def removed(self) -> list[str]:
        return [ln[1:] for ln in self.lines if ln.startswith("-")]


@dataclass
class FileDiff:
    """The changes of one file in a patch."""

    old_path: str | None = None
    new_path: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    is_new: bool = False
    is_deleted: bool = False
    is_binary: bool = False
    flags: list[str] = field(default_factory=list)
    """Extended git headers that change the file without hunks (rename, mode change)."""

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""


def _strip_path(raw: str) -> str | None:
    raw = raw.split("\t")[0].strip()
    if raw.startswith('"') and raw.endswith('"'):
        raw = raw[1:-1]
    if raw == "/dev/null":
        return None
    if raw.startswith(("a/", "b/")):
        return raw[2:]
    return raw


def _git_header_paths(line: str) -> tuple[str | None, str | None]:
    rest = line[len("diff --git ") :]
    idx = rest.rfind(" b/")
    if idx < 0:
        return None, None
    return _strip_path(rest[:idx]), _strip_path(rest[idx + 1 :])


def _is_file_header(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _read_hunk(lines: list[str], i: int, header: str) -> tuple[Hunk, int]:
    m = _HUNK_RE.match(header)
    if not m:
        raise PatchFormatError(f"malformed hunk header {header!r}; expected '@@ -a,b +c,d @@'")
    old_left = int(m.group(2)) if m.group(2) is not None else 1
    new_left = int(m.group(4)) if m.group(4) is not None else 1
    hunk = Hunk(header=header)
    n = len(lines)
    while i < n:
        ln = lines[i]
        if ln.startswith("\\"):
            hunk.lines.append(ln)
            i += 1
            continue
        if old_left <= 0 and new_left <= 0:
            break
        if ln.startswith(("diff --git ", "@@ ")):
            break
        if _is_file_header(lines, i) and i + 2 < n and lines[i + 2].startswith("@@"):
            break
        tag = ln[:1]
        if tag in (" ", ""):
            old_left -= 1
            new_left -= 1
            ln = " " + ln[1:]
        elif tag == "-":
            old_left -= 1
        elif tag == "+":
            new_left -= 1
        else:
            break
        hunk.lines.append(ln)
        i += 1
    return hunk, i


def parse_diff(text: str) -> list[FileDiff]:
    """Parse a unified diff into per-file changes; raises PatchFormatError when it is not a diff."""
    lines = text.splitlines()
    files: list[FileDiff] = []
    cur: FileDiff | None = None
    saw_plus_minus = False
    i, n = 0, len(lines)
    while i < n:
        ln = lines[i]
        if ln.startswith("diff --git "):
            old, new = _git_header_paths(ln)
            cur = FileDiff(old_path=old, new_path=new)
            files.append(cur)
            saw_plus_minus = False
            i += 1
        elif _is_file_header(lines, i):
            if cur is None or cur.hunks or saw_plus_minus:
                cur = FileDiff()
                files.append(cur)
            old, new = _strip_path(ln[4:]), _strip_path(lines[i + 1][4:])
            cur.old_path, cur.new_path = old, new
            cur.is_new = cur.is_new or old is None
            cur.is_deleted = cur.is_deleted or new is None
            saw_plus_minus = True
            i += 2
        elif ln.startswith("@@"):
            if cur is None:
                raise PatchFormatError("hunk found before any file header ('--- a/...', '+++ b/...')")
            hunk, i = _read_hunk(lines, i + 1, ln)
            cur.hunks.append(hunk)
        elif cur is not None and ln.startswith(_FLAG_PREFIXES):
            cur.is_new = cur.is_new or ln.startswith("new file mode")
            cur.is_deleted = cur.is_deleted or ln.startswith("deleted file mode")
            if cur.is_new:
                cur.old_path = None
            if cur.is_deleted:
                cur.new_path = None
            cur.flags.append(ln)
            i += 1
        elif cur is not None and ln.startswith(("Binary files", "GIT binary patch")):
            cur.is_binary = True
            cur.flags.append(ln)
            i += 1
        else:
            if cur is not None and ln.startswith(("old mode", "new mode")):
                cur.flags.append(ln)
            i += 1  # index lines, preamble text, trailing junk
    if not files:
        raise PatchFormatError("no file header ('diff --git' or '--- a/...' + '+++ b/...') found")
    for f in files:
        if not f.path:
            raise PatchFormatError("a file section has no path")
    return files

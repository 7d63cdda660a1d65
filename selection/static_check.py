"""Static checks of a candidate against the repository at its base commit, without running anything.

The Python files a patch touches are read at the base commit, the patch is applied to copies of them (the same
`git apply`, then `patch --fuzz=5` order as the harness), and pyflakes is run before and after. Only what the
patch *introduces* counts: a name pyflakes reports undefined after the patch but not before (a missing import,
a helper that was never written), a file that stops parsing, and other new warnings (unused imports,
redefinitions, unused locals). On the labeled lite pool no candidate that introduced an undefined name was
resolved (0 of 61), against 29% of the rest; see docs/selection-benchmark.md.

A `SourceReader` gives a file's text at the base commit (None when the file does not exist there), so the same
check runs on a bare mirror (`git show`), a checkout, or a dict in tests.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyflakes import checker

from patchjury.envs.patching import GIT_APPLY, PATCH_FUZZ
from patchjury.records import Candidate, Task
from patchjury.selection.candidates import json_rows
from patchjury.selection.errors import CandidateFormatError, StaticCheckError
from patchjury.selection.patch_parse import patch_sha1
from patchjury.selection.scratch import strip_scratch

SourceReader = Callable[[str], "str | None"]
"""path -> the file's text at the base commit, or None when it does not exist there."""

_UNDEFINED = {"UndefinedName", "UndefinedExport", "UndefinedLocal"}


@dataclass(frozen=True)
class StaticReport:
    """What a patch introduces in the Python files it touches (counts are of new pyflakes messages)."""

    checked: bool
    """False when nothing could be checked (no Python file, or the patch does not apply to the base files)."""
    undefined_names: tuple[str, ...] = ()
    """Names reported undefined after the patch and not before (sorted, one entry per new report)."""
    syntax_errors: int = 0
    """Touched files that parsed before the patch and do not parse after it."""
    new_warnings: int = 0
    """Other new pyflakes messages (unused imports, redefinitions, unused locals, ...)."""
    files: int = 0
    """Python files checked."""

    @property
    def errors(self) -> int:
        """Undefined names plus files that stop parsing: what makes a patch very likely wrong."""
        return len(self.undefined_names) + self.syntax_errors

    def to_json(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "undefined_names": list(self.undefined_names),
            "syntax_errors": self.syntax_errors,
            "new_warnings": self.new_warnings,
            "files": self.files,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StaticReport:
        names = data.get("undefined_names") or []
        if not isinstance(names, list):
            raise TypeError(f"undefined_names must be a list, got {type(names).__name__}")
        return cls(
            checked=bool(data["checked"]),
            undefined_names=tuple(str(n) for n in names),
            syntax_errors=int(data.get("syntax_errors", 0)),
            new_warnings=int(data.get("new_warnings", 0)),
            files=int(data.get("files", 0)),
        )


NOT_CHECKED = StaticReport(checked=False)


def error_count(report: StaticReport | None) -> int | None:
    """`report.errors` of a checked report; None when there is no report or nothing could be checked."""
    return report.errors if report is not None and report.checked else None


def _messages(source: str, filename: str) -> Counter[tuple[str, tuple[str, ...]]] | None:
    """pyflakes messages keyed by (kind, arguments) - line numbers left out so moved code stays equal;
    None when the source does not parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(source, filename=filename)
        except (SyntaxError, ValueError):
            return None
        found = checker.Checker(tree, filename=filename)
    return Counter(
        (type(m).__name__, tuple(str(a) for a in m.message_args if not isinstance(a, int)))
        for m in found.messages
    )


# The harness's order (envs.patching), reading the patch from stdin; --3way needs history, which copies lack.
_APPLY_COMMANDS = ([*GIT_APPLY.split(), "-"], PATCH_FUZZ.removesuffix(" -i").split())


def _apply(workdir: Path, patch: str) -> bool:
    for command in _APPLY_COMMANDS:
        run = subprocess.run(
            command,
            cwd=workdir,
            input=patch,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if run.returncode == 0:
            return True
    return False


_HEADER_PATH = re.compile(r"^(?:diff --git a/\S+ b/|--- a/|\+\+\+ b/)(\S+)", re.M)


def touched_paths(patch: str) -> list[str]:
    """Every path a patch names (git headers and plain `--- a/` / `+++ b/` lines), in first-seen order."""
    return list(dict.fromkeys(m.group(1) for m in _HEADER_PATH.finditer(patch)))


def check_patch(patch: str, read: SourceReader) -> StaticReport:
    """New pyflakes findings of `patch` in the Python files it touches, against `read` (base-commit text).

    Every file the patch names is copied from the base commit (so git-style and plain unified diffs apply the
    same way); only the Python ones are checked."""
    paths = touched_paths(patch)
    if not any(p.endswith(".py") for p in paths) or any(
        p.startswith("/") or ".." in p.split("/") for p in paths
    ):
        return NOT_CHECKED  # nothing to check, or a path outside the repository
    originals = {path: read(path) for path in paths}
    with tempfile.TemporaryDirectory(prefix="patchjury-static-") as tmp:
        root = Path(tmp)
        for path, text in originals.items():
            if text is not None:
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(text)
        if not _apply(root, patch if patch.endswith("\n") else patch + "\n"):
            return NOT_CHECKED
        undefined: list[str] = []
        syntax = other = files = 0
        for path, before_text in originals.items():
            target = root / path
            if not path.endswith(".py") or not target.is_file():
                continue  # not Python, or the patch deletes it
            files += 1
            before = _messages(before_text, path) if before_text is not None else Counter()
            after = _messages(target.read_text(errors="replace"), path)
            if before is None:
                continue  # did not parse on the base commit either: nothing to compare
            if after is None:
                syntax += 1
                continue
            for (kind, args), n in (after - before).items():
                if kind in _UNDEFINED:
                    undefined.extend([args[0] if args else "?"] * n)
                else:
                    other += n
    return StaticReport(
        checked=files > 0,
        undefined_names=tuple(sorted(undefined)),
        syntax_errors=syntax,
        new_warnings=other,
        files=files,
    )


def git_reader(git_dir: Path | str, commit: str) -> SourceReader:
    """Reads files at `commit` of a checkout or bare mirror (`git show commit:path`); raises StaticCheckError
    naming the fix when the repository lacks the commit."""
    where = str(Path(git_dir).expanduser())

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", where, *args], capture_output=True, text=True, errors="replace", timeout=120
        )

    probe = git("cat-file", "-e", f"{commit}^{{commit}}")
    if probe.returncode != 0:
        raise StaticCheckError(
            f"{where} has no commit {commit[:12]} ({probe.stderr.strip()[-200:] or 'unknown revision'}); pass a "
            "clone or mirror that contains the base commit"
        )

    def read(path: str) -> str | None:
        run = git("show", f"{commit}:{path}")
        if run.returncode == 0:
            return run.stdout
        if "does not exist" in run.stderr or "exists on disk, but not in" in run.stderr:
            return None
        raise StaticCheckError(f"cannot read {path} at {commit[:12]} in {where}: {run.stderr.strip()[-300:]}")

    return read


SourceFor = Callable[[Task], "SourceReader | None"]
"""task -> a reader of its repository at its base commit, or None when no source is known for it."""


def repo_source(repo: Path | str) -> SourceFor:
    """Every task reads the local checkout `repo`, at the task's base commit (HEAD when it has none)."""
    return lambda task: git_reader(repo, task.base_commit or "HEAD")


def cache_source(cache: Path | str | None) -> SourceFor:
    """Tasks read `owner__name` from a repo cache (envs.swebench.repos layout; never clones)."""
    from patchjury.envs.swebench.repos import resolve_repo

    def source(task: Task) -> SourceReader | None:
        if not task.repo:
            return None
        return git_reader(
            resolve_repo(task.repo, task.base_commit, cache, allow_clone=False), task.base_commit
        )

    return source


def load_static_reports(path: str | Path) -> dict[tuple[str, str], StaticReport]:
    """(instance_id, patch sha1) -> report, from a file written by scripts/collect_static_checks.py."""
    out: dict[tuple[str, str], StaticReport] = {}
    for n, row in json_rows(Path(path)):
        try:
            out[(row["instance_id"], row["patch_sha1"])] = StaticReport.from_json(row["static"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CandidateFormatError(
                f"{path}:{n}: not a static-check record ({exc!r}); regenerate it with "
                "scripts/collect_static_checks.py"
            ) from exc
    return out


def saved_checker(path: str | Path | None) -> StaticChecker | None:
    """A checker over the reports saved in `path` (no repository source); None when no path is given."""
    return StaticChecker(saved=load_static_reports(path)) if path else None


class StaticChecker:
    """Static reports of candidates: saved ones first (by instance and patch sha1), else computed from the
    task's repository source, on the patch without its agent scratch files (selection/scratch.py); results are
    cached. Without a source a candidate gets None (not checked)."""

    def __init__(
        self, source_for: SourceFor | None = None, saved: Mapping[tuple[str, str], StaticReport] | None = None
    ) -> None:
        self.source_for = source_for
        self.saved = dict(saved or {})
        self._readers: dict[str, SourceReader | None] = {}

    def report(self, task: Task, cand: Candidate) -> StaticReport | None:
        key = (task.instance_id, patch_sha1(cand.model_patch))
        if key in self.saved:
            return self.saved[key]
        if self.source_for is None:
            return None
        if task.instance_id not in self._readers:
            self._readers[task.instance_id] = self.source_for(task)
        reader = self._readers[task.instance_id]
        if reader is None:
            return None
        # as the pass matrix applies it: without the agent's scratch files (a root reproduce.py is not the fix)
        patch, _ = strip_scratch(cand.model_patch, [t.path for t in cand.tests])
        self.saved[key] = check_patch(patch, reader)
        return self.saved[key]

    def reports(self, task: Task, cands: Sequence[Candidate]) -> list[StaticReport | None]:
        return [self.report(task, c) for c in cands]

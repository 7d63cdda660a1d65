"""The pass matrix's records: ReproTest (one distinct reproduction test; `collect_tests` gathers them from the
candidates), Cell (one test run on one subject) and PassMatrix (the whole grid, which tests are kept and which
distinguish). selection.execution runs the grid and fills them in.

Rows ("subjects") are `original` (ORIGINAL, the unpatched code) plus one representative per cluster of identical
normalized patches. Columns are the distinct reproduction tests of all candidates (identical path+content+command
written by several candidates are one test). Exit codes decide a cell's status: 0 = `pass` (issue resolved),
2 = `fail` (issue still reproduced), timeout = `timeout`, anything else = `error`; `not_run` when the subject's
patch did not apply. A test is *kept* when it exits 2 on the original code (it reproduces the issue); a kept test
is *distinguishing* when some applying candidates pass it and others do not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from patchjury.records import Candidate
from patchjury.selection.outputs import Marker

ORIGINAL = "original"
CellStatus = Literal["pass", "fail", "error", "timeout", "not_run"]


@dataclass
class ReproTest:
    """One distinct reproduction test and the candidates that wrote it."""

    test_id: str
    path: str
    content: str
    command: str
    authors: list[str] = field(default_factory=list)
    """candidate_ids of the candidates that carried this test."""
    origin: str = "candidate"
    """`candidate` (carried by candidates, e.g. scripts their trajectories wrote) or `issue` (derived from the
    issue text, selection/issue_tests.py)."""


@dataclass
class Cell:
    """One test run on one subject."""

    subject: str
    test_id: str
    status: CellStatus
    exit_code: int | None = None
    duration: float = 0.0
    tail: str = ""
    """The last characters of the raw output."""
    timed_out: bool = False
    digest: str = ""
    """Digest of the normalized output (selection.outputs): equal digests, equal visible behaviour."""
    excerpt: str = ""
    """Head and tail of the normalized output."""
    exception: str | None = None
    """The exception an uncaught traceback ended with."""
    marker: Marker | None = None
    """An Agentless-style verdict line printed: resolved, reproduced or other."""
    truncated: bool = False
    """The output was longer than the environment keeps (head and tail kept)."""
    note: str = ""
    """Anything unusual about this run (the environment had to be replaced...)."""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class PassMatrix:
    """Results of the whole grid plus which tests matter."""

    tests: list[ReproTest]
    subjects: list[str]
    """`original` first, then cluster representatives."""
    cells: dict[tuple[str, str], Cell]
    apply_failures: dict[str, str] = field(default_factory=dict)
    """subject -> why its patch did not apply."""
    kept: list[str] = field(default_factory=list)
    """Tests that exit 2 (reproduce the issue) on the original code."""
    distinguishing: list[str] = field(default_factory=list)
    """Kept tests passed by some applying subjects and not by others."""
    stripped: dict[str, list[str]] = field(default_factory=dict)
    """subject -> agent scratch files stripped from its patch before applying (selection/scratch.py)."""

    def cell(self, subject: str, test_id: str) -> Cell | None:
        return self.cells.get((subject, test_id))

    def row(self, subject: str, test_ids: Sequence[str] | None = None) -> list[bool]:
        """Pass (exit 0) per test, kept tests by default."""
        ids = self.kept if test_ids is None else test_ids
        return [bool((c := self.cell(subject, t)) and c.passed) for t in ids]

    def applying(self) -> list[str]:
        return [s for s in self.subjects if s != ORIGINAL and s not in self.apply_failures]

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": [asdict(t) | {"content": None} for t in self.tests],
            "subjects": self.subjects,
            "cells": [asdict(c) for c in self.cells.values()],
            "apply_failures": self.apply_failures,
            "kept": self.kept,
            "distinguishing": self.distinguishing,
            "stripped": self.stripped,
        }


def collect_tests(candidates: Sequence[Candidate], limit: int | None = None) -> list[ReproTest]:
    """Distinct tests of all candidates (identical path, content and command merged), in candidate order."""
    seen: dict[tuple[str, str, str], ReproTest] = {}
    for cand in candidates:
        for tf in cand.tests:
            key = (tf.path, tf.content, tf.run_command())
            if key not in seen:
                if limit is not None and len(seen) >= limit:
                    continue
                seen[key] = ReproTest(f"{cand.candidate_id}/{tf.path}", tf.path, tf.content, tf.run_command())
            if cand.candidate_id not in seen[key].authors:
                seen[key].authors.append(cand.candidate_id)
    return list(seen.values())

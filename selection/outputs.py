"""What a test run showed, made comparable across candidates: normalized output, its digest, a short excerpt, the
exception it died of, and the explicit conventions real tests use to report a verdict.

Real agents' reproduction scripts mostly print what they see and exit 0 whatever happens, so the evidence is their
output. Two runs that behave alike must give the same digest, so `normalize` removes what differs between runs of
the same behaviour: memory addresses and object ids (`0x7f3a...`, `<Foo object at 0x...>`), temporary paths
(`/tmp/tmpab12cd/...`, pytest's `/tmp/pytest-of-root/pytest-3/...`), timings (`in 0.12s`, `3.2 ms`), date-times, random seeds where printed (`seed=1234`, `--randomly-seed=99`), line numbers in tracebacks and
warnings (a patch moves code), carriage returns and trailing whitespace. Nothing else: a changed number, word or
repr is a changed behaviour.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

EXCERPT_CHARS = 400
"""Characters of normalized output kept per run for explanations (the head and the tail, the middle elided)."""

Marker = Literal["resolved", "reproduced", "other"]

_SUBS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\r\n?"), "\n"),
    # tracebacks and warnings name lines of files a patch may have moved
    (re.compile(r'(File "[^"\n]+", line )\d+'), r"\1N"),
    (re.compile(r"(\.pyx?):\d+(:\d+)?(?=[:\s)])"), r"\1:N"),
    (re.compile(r"\b0x[0-9a-fA-F]{6,}\b"), "0x?"),
    (re.compile(r"\b(pid|thread|Thread-)[= ]?\d{3,}\b"), r"\1=?"),
    (re.compile(r"/tmp/pytest-of-[^/\s]+/pytest-\d+"), "/tmp/<pytest>"),
    (re.compile(r"(/(?:tmp|var/folders)/)(?:[\w.-]*?tmp[\w.-]*|[\w-]{8,})(?=/|\b)"), r"\1<tmp>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<datetime>"),
    (
        re.compile(
            r"\b\d+(?:\.\d+)?\s?(?:s|secs?|seconds?|ms|msecs?|milliseconds?|us|µs|microseconds?|ns)\b"
        ),
        "<duration>",
    ),
    (re.compile(r"(?i)\b(random[ _-]?seed|randomly-seed|seed)(\s*[=:]\s*|\s+)\d+"), r"\1\2<seed>"),
    (re.compile(r"[ \t]+$", re.M), ""),
]
_TRACEBACK = "Traceback (most recent call last):"
_EXC_LINE = re.compile(
    r"^(?:E\s+)?([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Iteration))\b:?"
)
_MARKERS: tuple[tuple[str, Marker], ...] = (
    ("issue resolved", "resolved"),
    ("issue reproduced", "reproduced"),
    ("other issues", "other"),
)


def normalize(text: str) -> str:
    """The output with run-to-run noise removed (see the module docstring); trailing blank lines dropped."""
    for pattern, repl in _SUBS:
        text = pattern.sub(repl, text)
    return text.strip("\n")


def digest(normalized: str) -> str:
    """A short stable key of a normalized output (equal outputs, equal digests)."""
    return hashlib.sha1(normalized.encode("utf-8", errors="replace")).hexdigest()[:12]


def excerpt(normalized: str, limit: int = EXCERPT_CHARS) -> str:
    """Head and tail of a normalized output, at most about `limit` characters."""
    if len(normalized) <= limit:
        return normalized
    half = limit // 2
    return f"{normalized[:half]}\n[...]\n{normalized[-half:]}"


def exception_of(text: str) -> str | None:
    """The exception an uncaught traceback ends with (`ValueError`, `sympy.core.SympifyError`...), else None.

    Only the part after the last `Traceback (most recent call last):` is read; a traceback that a script printed
    and then went on counts too (callers combine it with the exit code)."""
    at = text.rfind(_TRACEBACK)
    if at < 0:
        # pytest's `E   AssertionError` lines and bare `AssertionError` at the end of a run
        tail = [ln.strip() for ln in text.strip().splitlines()[-5:]]
        for line in reversed(tail):
            m = _EXC_LINE.match(line)
            if m and not m.group(1).endswith("Warning"):
                return m.group(1)
        return None
    for line in reversed(text[at:].strip().splitlines()[1:]):
        m = _EXC_LINE.match(line.strip())
        if m:
            return m.group(1)
    return None


def marker_of(text: str) -> Marker | None:
    """The last Agentless-style verdict line printed ("Issue resolved", "Issue reproduced", "Other issues")."""
    low = text.lower()
    found = [(low.rfind(needle), kind) for needle, kind in _MARKERS if needle in low]
    return max(found)[1] if found else None


@dataclass(frozen=True)
class Observed:
    """One run's comparable facts."""

    exit_code: int | None
    timed_out: bool
    digest: str
    excerpt: str
    exception: str | None
    marker: Marker | None
    truncated: bool = False

    @property
    def crashed(self) -> bool:
        """Died of an uncaught exception, a signal or a timeout (not a deliberate verdict exit such as 2)."""
        if self.timed_out:
            return True
        if self.exit_code is None or self.exit_code == 0:
            return False
        return self.exception is not None or self.exit_code < 0 or self.exit_code >= 124

    def same_behaviour(self, other: Observed) -> bool:
        return (self.exit_code, self.timed_out, self.digest) == (
            other.exit_code,
            other.timed_out,
            other.digest,
        )


def observe(output: str, exit_code: int | None, timed_out: bool, truncated: bool = False) -> Observed:
    """The comparable facts of one run's raw output."""
    norm = normalize(output)
    return Observed(
        exit_code=exit_code,
        timed_out=timed_out,
        digest=digest(norm),
        excerpt=excerpt(norm),
        exception=exception_of(output),
        marker=marker_of(output),
        truncated=truncated,
    )

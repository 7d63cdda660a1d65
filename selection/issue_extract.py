"""Find runnable Python in an issue's text: doctest sessions and scripts followed by the traceback they raise.

What is extracted (from Markdown, e.g. a GitHub issue body):
- **Sessions**: `>>>` examples (stdlib `doctest.DocTestParser`) in a fenced block or in the prose between
  fences. IPython prompts (`In [1]:`, `...:`, `Out[1]:`) and a missing blank after `>>>` are normalized first.
  A session needs at least one example with a shown output or Traceback, else it is treated as a script.
- **Scripts**: fenced blocks with no language or a Python one (python, py, python3, pycon, ipython, ...) that
  compile after dedenting, and that are followed by a traceback: in the same block (code, then
  `Traceback (most recent call last):`), or in the prose after the block and the next fenced block. The
  traceback's last line naming an exception (`ValueError: ...`, pytest's `E   ValueError: ...`) gives the
  exception the script must raise to reproduce the issue. Scripts without a traceback give no test.

Skipped: blocks in other languages (bash, console, diff, yaml...), code that does not compile, pure tracebacks,
shell commands (they do not compile), and snippets with side effects outside the repository (see `UNSAFE`:
network, subprocesses/shell, package installs, deleting or moving files, opening absolute or home paths).
"""

from __future__ import annotations

import doctest
import re
import textwrap
from dataclasses import dataclass
from typing import Literal

PY_LANGS = {"", "python", "py", "python3", "py3", "pycon", "ipython", "ipython3", "doctest", "sage", "pytb"}
SESSION_LANGS = PY_LANGS | {"text", "txt", "console", "none", "plain", "plaintext"}
UNSAFE = re.compile(
    r"\bpip3?\s+install\b|\bsubprocess\b|\bos\.(?:system|popen|remove|unlink|rmdir|removedirs|rename|replace|"
    r"exec\w*|spawn\w*|kill|fork|chdir)\b|\bshutil\.|\.unlink\(|\.rmdir\(|\brmtree\b|"
    r"\b(?:requests|urllib\d?|httpx|aiohttp|socket|http\.client|ftplib|smtplib|webbrowser)\b|"
    r"\bopen\(\s*[rbuf]*['\"](?:/|~|[A-Za-z]:\\)|\bshell\s*=\s*True|\bsys\.exit\b|\bos\._exit\b"
)
EXC_LINE = re.compile(
    r"^\s*(?:E\s+)?(?P<name>(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*(?:Error|Exception|Warning|Exit|Interrupt|Failure|"
    r"Fault)|StopIteration|StopAsyncIteration))(?::.*)?\s*$"
)
#: Cues, in the last prose line before a fenced session or the first line after it, that its outputs are the correct behaviour (only the
#: `expected` variant is generated then: an `actual` test of correct output would reward any change, even a
#: breaking one). Any BUGGY cue there keeps both variants.
CORRECT = re.compile(
    r"\b(?:sensible|correct(?:ly)?|as expected|(?:might|would|'d) expect|works?(?: fine| correctly)?|fine|desired|should (?:be|give|"
    r"return|print|output|yield|produce)|instead|expect(?:ed)? (?:output|result)|(?:the )?right)\b",
    re.I,
)
BUGGY = re.compile(
    r"\b(?:bugs?|buggy|wrong(?:ly)?|incorrect(?:ly)?|odd|strange|weird|unexpected(?:ly)?|fails?|error|broken|"
    r"crash(?:es)?|but|not|however|instead of|regression)\b",
    re.I,
)
PROSE_LINES = 12
_IPYTHON_TB = re.compile(r"^(?:-{5,}\n)?\s*([A-Za-z_][\w.]*)\s+Traceback \(most recent call last\)", re.M)
TRACEBACK = "Traceback (most recent call last):"
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+.-]*)")


@dataclass
class Block:
    """A fenced code block (`lang` lowercased) or a prose segment between fences (`lang` = None)."""

    text: str
    lang: str | None


@dataclass
class Snippet:
    """Runnable code from the issue: a doctest `session` or a `script` with the exception it must raise."""

    kind: Literal["session", "script"]
    source: str
    exception: str = ""
    shows: Literal["either", "expected"] = "either"
    """Session only: `expected` when the prose just before it presents the output as correct (see `CORRECT`)."""
    setup: tuple[str, ...] = ()
    """Earlier code of the issue, run before the snippet: Python blocks that gave no test of their own (imports,
    definitions: `cm = m.Linear1D(10) & m.Linear1D(5)` before `>>> separability_matrix(cm)`) and the statements of
    earlier sessions that show no traceback (`ds = xr.Dataset(...)` in one session, `>>> ds` in the next). Each
    part runs before the snippet, best effort: a part that raises is reported and skipped."""


def split_blocks(text: str) -> list[Block]:
    """Prose and fenced blocks, in order (an unclosed fence runs to the end)."""
    blocks: list[Block] = []
    prose: list[str] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        blocks.append(Block("\n".join(prose), None))
        prose = []
        fence, body = m.group("fence"), []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        blocks.append(Block(textwrap.dedent("\n".join(body)), m.group("lang").lower()))
    blocks.append(Block("\n".join(prose), None))
    return [b for b in blocks if b.text.strip()]


def normalize_session(text: str) -> str:
    """IPython prompts to doctest prompts; `>>>x` to `>>> x`; tabs expanded."""
    lines, indent = [], ""
    for line in text.expandtabs().split("\n"):
        prompt = re.match(r"^(\s*)In \[\d*\]: ?", line)
        more = re.match(r"^\s*\.\.\.+: ?", line)
        if prompt:
            indent = prompt.group(1)
            line = indent + ">>> " + line[prompt.end() :]
        elif more:  # IPython aligns `...:` under `In [n]:`; doctest wants it under the prompt
            line = indent + "... " + line[more.end() :]
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"^(\s*)Out\[\d*\]: ?", r"\1", text, flags=re.M)
    text = re.sub(r"^(\s*)(>>>|\.\.\.)(?=[^\s.])", r"\1\2 ", text, flags=re.M)
    return text


def session_examples(text: str) -> list[doctest.Example] | None:
    """doctest examples of a normalized session; None when it does not parse (bad indentation...)."""
    try:
        return doctest.DocTestParser().get_examples(text)
    except ValueError:
        return None


def compiles(source: str) -> bool:
    try:
        compile(source, "<issue snippet>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def raised_exception(text: str) -> str:
    """The exception named by the last exception line of a traceback-like text ('' when none)."""
    found = ""
    for line in text.split("\n"):
        m = EXC_LINE.match(line)
        if m:
            found = m.group("name")
    return found


def _script(source: str, after: str, limit: int) -> Snippet | None:
    code, sep, tb = source.partition(TRACEBACK)
    code = textwrap.dedent(code).strip("\n")
    exc = raised_exception(tb) if sep else raised_exception(after)
    if not code.strip() or not exc or len(code) > limit or not compiles(code) or UNSAFE.search(code):
        return None
    return Snippet("script", code + "\n", exc)


def extract(text: str, max_chars: int = 20_000) -> list[Snippet]:
    """Every runnable snippet of `text`, in order, duplicates removed."""
    blocks = split_blocks(text)
    found: list[Snippet] = []
    context = ""
    setup: list[str] = []
    for i, block in enumerate(blocks):
        if block.lang is None:
            lines = [ln for ln in block.text.strip().split("\n") if ln.strip()]
            context = lines[-1] if lines else ""
        if block.lang is not None and block.lang not in SESSION_LANGS:
            continue
        session = normalize_session(block.text)
        examples = session_examples(session) or []
        if examples:
            checked = [e for e in examples if e.want.strip() or e.exc_msg is not None]
            source = "\n".join(e.source for e in examples)
            if (
                len(session) > max_chars
                or UNSAFE.search(source)
                or not all(compiles(e.source) for e in examples)
            ):
                continue
            if checked:
                shows: Literal["either", "expected"] = "either"
                if block.lang is not None and any(
                    CORRECT.search(c) and not BUGGY.search(c) for c in (context, _next_prose_line(blocks, i))
                ):
                    shows = "expected"
                found.append(Snippet("session", _session_text(examples), shows=shows, setup=tuple(setup)))
                if all(e.exc_msg is None for e in examples) and len(source) <= max_chars - sum(
                    map(len, setup)
                ):
                    setup.append(source)  # later sessions often use its names (`ds` defined, then printed)
                continue
            block = Block(source, block.lang)
        if block.lang is None or block.lang not in PY_LANGS:
            continue
        after = _following(blocks, i)
        snip = _script(block.text, after, max_chars)
        if snip:
            found.append(Snippet("script", snip.source, snip.exception, setup=tuple(setup)))
        elif block.lang is not None and _is_setup(block.text, max_chars - sum(map(len, setup))):
            setup.append(textwrap.dedent(block.text).strip("\n") + "\n")
    unique: list[Snippet] = []
    for s in found:
        if s not in unique:
            unique.append(s)
    return unique


def _next_prose_line(blocks: list[Block], i: int) -> str:
    """The first line of the prose right after block i ("The output is, as expected, ..."), when more prose
    follows it; a lone line ("It should give") introduces the next block instead."""
    if i + 1 < len(blocks) and blocks[i + 1].lang is None:
        lines = [ln for ln in blocks[i + 1].text.split("\n") if ln.strip()]
        return lines[0] if len(lines) > 1 else ""
    return ""


def _is_setup(code: str, room: int) -> bool:
    """A fenced block that may serve as setup for later snippets: safe Python that compiles, fits, shows no traceback."""
    return (
        bool(code.strip())
        and TRACEBACK not in code
        and len(code) <= room
        and compiles(textwrap.dedent(code))
        and not UNSAFE.search(code)
    )


def _following(blocks: list[Block], i: int) -> str:
    """Text after block i that may hold its traceback: the prose after it (its first PROSE_LINES lines) and at
    most one fenced block that is not more code (code that compiles and names no exception ends the search)."""
    parts = []
    for b in blocks[i + 1 : i + 3]:
        if b.lang is not None and compiles(b.text) and not raised_exception(b.text):
            break
        parts.append(
            b.text if b.lang is not None else "\n".join(b.text.strip("\n").split("\n")[:PROSE_LINES])
        )
        if b.lang is not None:
            break
    return "\n".join(parts)


def _ipython_exception(want: str) -> str | None:
    """The exception line of an IPython-style traceback shown as output (`----` rule, `TypeError   Traceback
    (most recent call last)`, frames, `TypeError: msg`); `TypeError: ...` (any message) when the output was cut
    at a blank line before the last line. None for ordinary output."""
    m = _IPYTHON_TB.search(want)
    if not m:
        return None
    last = [ln.strip() for ln in want.split("\n") if EXC_LINE.match(ln)]
    return last[-1] if last else m.group(1) + ": ..."


def _session_text(examples: list[doctest.Example]) -> str:
    """A clean doctest session rebuilt from parsed examples (prose and indentation dropped)."""
    out = []
    for e in examples:
        src = e.source.rstrip("\n").split("\n")
        out.append(">>> " + src[0])
        out += ["... " + s for s in src[1:]]
        exc_msg = e.exc_msg if e.exc_msg is not None else _ipython_exception(e.want)
        if exc_msg is not None:
            out += [TRACEBACK, "  ...", *exc_msg.rstrip("\n").split("\n")]
        else:
            out += (
                [w if w.strip() else "<BLANKLINE>" for w in e.want.rstrip("\n").split("\n")] if e.want else []
            )
    return "\n".join(out) + "\n"

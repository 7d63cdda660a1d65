"""Repository map, part 1: Python definitions and references per file (tree-sitter), read through the Env
in one batched archive, cached per commit on the host.

Part 2 (ranking with personalized PageRank and rendering to a token budget) is tools.repomap_rank.
Only Python files are mapped; other languages are skipped.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import posixpath
import re
import tarfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import q, run_checked
from patchjury.tools.config import ToolsConfig
from patchjury.tools.errors import ToolExecutionError
from patchjury.tools.state import state_dir

#: Bump when the extraction changes, so old cache files are ignored.
VERSION = 3
QUERY_PATH = Path(__file__).parent / "queries" / "python-tags.scm"
_MEMORY: dict[str, dict[str, FileTags]] = {}
_MEMORY_LOCK = threading.Lock()
_MEMORY_SLOTS = 4


@dataclass
class Definition:
    """A class, function or method definition."""

    name: str
    kind: str
    """`class`, `function` or `method`."""
    line: int
    """1-based line of the `def`/`class` keyword."""
    signature: str
    """Header without the body, whitespace collapsed, e.g. `def add(a, b) -> int`."""
    parent: str = ""
    """Enclosing class name for methods."""


@dataclass
class FileTags:
    """What one file defines and which names it references (with counts)."""

    defs: list[Definition] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"defs": [asdict(d) for d in self.defs], "refs": self.refs}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileTags:
        return cls(defs=[Definition(**d) for d in data["defs"]], refs=dict(data["refs"]))


class TagExtractor:
    """tree-sitter parser + tags query for Python (one per thread; parsers are not shared)."""

    def __init__(self) -> None:
        import tree_sitter_python
        from tree_sitter import Language, Parser, Query

        self.language = Language(tree_sitter_python.language())
        self.parser = Parser(self.language)
        self.query = Query(self.language, QUERY_PATH.read_text())

    def extract(self, source: str) -> FileTags:
        from tree_sitter import QueryCursor

        data = source.encode("utf-8", errors="surrogateescape")
        tree = self.parser.parse(data)
        captures = QueryCursor(self.query).captures(tree.root_node)
        defs: list[Definition] = []
        name_nodes: set[tuple[int, int]] = set()
        for kind in ("definition.class", "definition.function"):
            for node in captures.get(kind, []):
                name = node.child_by_field_name("name")
                if name is None or name.text is None:
                    continue
                name_nodes.add((name.start_byte, name.end_byte))
                parent = _enclosing(node)
                if parent is None:  # nested inside a function: not part of the map
                    continue
                colon = [c for c in node.children if c.type == ":"]
                end = colon[-1].start_byte if colon else node.end_byte
                header = _strip_comments(data[node.start_byte : end].decode("utf-8", errors="replace"))
                signature = re.sub(r"\s+", " ", header).strip().rstrip(":").strip()
                signature = re.sub(r"([(\[]) ", r"\1", re.sub(r",? ([)\]])", r"\1", signature))
                if len(signature) > 200:
                    signature = signature[:197] + "..."
                is_method = kind == "definition.function" and parent != ""
                defs.append(
                    Definition(
                        name=name.text.decode("utf-8", errors="replace"),
                        kind="class"
                        if kind == "definition.class"
                        else ("method" if is_method else "function"),
                        line=node.start_point[0] + 1,
                        signature=signature,
                        parent=parent,
                    )
                )
        refs: Counter[str] = Counter()
        for node in captures.get("reference", []):
            if (node.start_byte, node.end_byte) in name_nodes or node.text is None:
                continue
            refs[node.text.decode("utf-8", errors="replace")] += 1
        defs.sort(key=lambda d: d.line)
        return FileTags(defs=defs, refs=dict(refs))


def _strip_comments(header: str) -> str:
    """Drop `# ...` comments from a definition header (lines whose '#' follows no quote)."""
    out = []
    for line in header.splitlines():
        cut = line.find("#")
        if cut != -1 and "'" not in line[:cut] and '"' not in line[:cut]:
            line = line[:cut]
        out.append(line)
    return "\n".join(out)


def _enclosing(node: Any) -> str | None:
    """'' for a module-level definition, the class name for one directly in a class, None when in a function."""
    cur = node.parent
    while cur is not None:
        if cur.type == "class_definition":
            name = cur.child_by_field_name("name")
            return name.text.decode("utf-8", errors="replace") if name is not None and name.text else "?"
        if cur.type in ("function_definition", "lambda"):
            return None
        if cur.type == "module":
            return ""
        cur = cur.parent
    return ""


# -- reading through the Env ---------------------------------------------------------------------------------
def _untar(env: Env, config: ToolsConfig, produce: str, what: str) -> dict[str, str]:
    """Run `produce` (a shell pipeline writing a tar to stdout) in the Env; return {path: text}."""
    tmp = f"{state_dir(env, config)}/repomap-{os.getpid()}-{threading.get_ident()}.b64"
    run_checked(
        env,
        f"mkdir -p {q(posixpath.dirname(tmp))} && set -o pipefail && {{ {produce}; }} | gzip -1 | base64 -w0 > {q(tmp)}",
        config,
        what,
    )
    try:
        blob = base64.b64decode(env.read_file(tmp))
    finally:
        env.execute(f"rm -f {q(tmp)}", timeout=30)
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar:
            if not member.isfile() or member.size > config.repomap_max_file_bytes:
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                out[member.name.removeprefix("./")] = handle.read().decode("utf-8", errors="replace")
    return out


def read_commit_sources(env: Env, config: ToolsConfig, commit: str) -> dict[str, str]:
    """Every tracked .py file at `commit`, in one batched archive."""
    return _untar(
        env, config, f"git archive --format=tar {q(commit)} -- ':(glob)**/*.py'", "archiving Python files"
    )


def read_worktree_sources(env: Env, config: ToolsConfig, paths: list[str]) -> dict[str, str]:
    """The named work-tree files (missing ones skipped), in one batched archive."""
    if not paths:
        return {}
    listing = " ".join(q(p) for p in paths)
    produce = f'for f in {listing}; do [ -f "$f" ] && printf \'%s\\0\' "$f"; done | tar --null -T - -cf -'
    return _untar(env, config, produce, "reading changed Python files")


def worktree_state(env: Env, config: ToolsConfig) -> tuple[str, list[str], list[str]]:
    """(HEAD commit, changed-or-new .py paths, deleted .py paths) of the work tree."""
    out = run_checked(
        env,
        "git rev-parse HEAD && git status --porcelain=v1 --untracked-files=all --no-renames -- ':(glob)**/*.py'",
        config,
        "reading the git status",
    ).output.splitlines()
    if not out or not re.fullmatch(r"[0-9a-f]{40,64}", out[0].strip()):
        raise ToolExecutionError(f"unexpected git output: {out[:3]}")
    changed: list[str] = []
    deleted: list[str] = []
    for line in out[1:]:
        if len(line) < 4:
            continue
        status, path = line[:2], line[3:].strip()
        if path.startswith('"'):
            path = json.loads(path)  # git quotes unusual names C-style; close enough for .py paths
        (deleted if "D" in status else changed).append(path)
    return out[0].strip(), changed, deleted


# -- cache ---------------------------------------------------------------------------------------------------
def cache_path(config: ToolsConfig, commit: str) -> Path:
    root = Path(config.repomap_cache_dir or Path.home() / ".cache" / "patchjury" / "repomap").expanduser()
    return root / f"{commit}-v{VERSION}.json"


def _load_cache(path: Path) -> dict[str, FileTags] | None:
    key = str(path)
    with _MEMORY_LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
    try:
        data = json.loads(path.read_text())
        tags = {p: FileTags.from_json(t) for p, t in data["files"].items()}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or old-format cache: rebuilt and overwritten
    _remember(key, tags)
    return tags


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive lock (flock) on `<cache>.lock`, across threads and processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remember(key: str, tags: dict[str, FileTags]) -> None:
    with _MEMORY_LOCK:
        _MEMORY[key] = tags
        while len(_MEMORY) > _MEMORY_SLOTS:
            _MEMORY.pop(next(iter(_MEMORY)))


def _save_cache(path: Path, commit: str, tags: dict[str, FileTags]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
    payload = {"commit": commit, "version": VERSION, "files": {p: t.to_json() for p, t in tags.items()}}
    tmp.write_text(json.dumps(payload, separators=(",", ":")))
    os.replace(tmp, path)
    _remember(str(path), tags)


def repo_tags(env: Env, config: ToolsConfig) -> tuple[dict[str, FileTags], dict[str, Any]]:
    """Tags of every Python file in the work tree: the commit's from the cache (built on a miss), changed
    files re-extracted. Returns (tags, info) with info = {commit, cache_hit, files, changed}."""
    commit, changed, deleted = worktree_state(env, config)
    path = cache_path(config, commit)
    base = _load_cache(path)
    hit = base is not None
    extractor: TagExtractor | None = None
    if base is None:
        with _build_lock(path):  # N trajectories starting together: one builds, the others wait and load
            base = _load_cache(path)
            hit = base is not None
            if base is None:
                extractor = TagExtractor()
                sources = read_commit_sources(env, config, commit)
                base = {p: extractor.extract(src) for p, src in sources.items()}
                _save_cache(path, commit, base)
    tags = dict(base)
    for p in deleted:
        tags.pop(p, None)
    if changed:
        extractor = extractor or TagExtractor()
        for p, src in read_worktree_sources(env, config, changed).items():
            tags[p] = extractor.extract(src)
    return tags, {"commit": commit, "cache_hit": hit, "files": len(tags), "changed": len(changed)}

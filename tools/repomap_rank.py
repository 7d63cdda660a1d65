"""Repository map, part 2: rank definitions with personalized PageRank and render them to a token budget.

Graph: one node per file; an edge r -> d for every identifier r references that d defines, weighted by
sqrt(reference count) (x10 for identifiers the focus text names, x0.1 for private names and names defined in
many files). PageRank is personalized toward files the focus names (by path, module path or file name) and files
defining named identifiers. Each definition's score is the rank flowing into it along its edges plus a share of
its file's rank; the top definitions that fit the budget are rendered grouped by file, files in rank order.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from tools.repomap import Definition, FileTags

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PATHLIKE = re.compile(r"[A-Za-z0-9_./\\-]+")
MENTION_BOOST = 10.0


@dataclass
class Focus:
    """What the ranking is personalized toward."""

    files: set[str]
    idents: set[str]


def find_focus(tags: dict[str, FileTags], text: str, files: Iterable[str] = ()) -> Focus:
    """Files and defined identifiers that `text` (an issue, a query) or `files` name."""
    paths = set(tags)
    focus_files: set[str] = set()
    wanted = [f.strip().lstrip("./") for f in files if f.strip()]
    tokens = {t.strip(".,:;'\"`()[]{}<>") for t in PATHLIKE.findall(text.replace("\\", "/"))}
    for path in paths:
        module = path[:-3].replace("/", ".")
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        base = path.rsplit("/", 1)[-1]
        if any(_names_file(token, path, module, base) for token in [*wanted, *tokens] if token):
            focus_files.add(path)
    defined = {d.name for t in tags.values() for d in t.defs}
    idents = {w for w in WORD.findall(text) if w in defined and len(w) > 2}
    return Focus(files=_longest_modules(focus_files), idents=idents)


def _names_file(token: str, path: str, module: str, base: str) -> bool:
    """Whether `token` names the file `path` (as a path, a path suffix, its file name, or a dotted module path)."""
    if token == path or path.endswith("/" + token) or token.endswith("/" + path):
        return True
    if token == base and base != "__init__.py":
        return True
    # `pkg.mod.Class.method` names pkg/mod.py (and pkg/__init__.py, dropped later by _longest_modules).
    return "." in token and not token.endswith(".py") and (token == module or token.startswith(module + "."))


def _longest_modules(found: set[str]) -> set[str]:
    """Drop a package __init__.py when a module inside it was matched too (pkg.mod matches pkg/__init__.py)."""
    out = set(found)
    for path in found:
        if path.endswith("__init__.py"):
            pkg = path[: -len("__init__.py")]
            if any(p != path and p.startswith(pkg) for p in found):
                out.discard(path)
    return out


def pagerank(
    n: int, edges: dict[tuple[int, int], float], personal: np.ndarray, alpha: float = 0.85, iters: int = 100
) -> np.ndarray:
    """Personalized PageRank by power iteration; dangling mass goes back to the personalization vector."""
    if n == 0:
        return np.zeros(0)
    src = np.fromiter((s for s, _ in edges), dtype=np.int64, count=len(edges))
    dst = np.fromiter((d for _, d in edges), dtype=np.int64, count=len(edges))
    w = np.fromiter(edges.values(), dtype=float, count=len(edges))
    out_w = np.bincount(src, weights=w, minlength=n) if len(edges) else np.zeros(n)
    norm = np.divide(w, out_w[src], out=np.zeros_like(w), where=out_w[src] > 0)
    dangling = out_w == 0
    rank = personal.copy()
    for _ in range(iters):
        flow = np.bincount(dst, weights=rank[src] * norm, minlength=n) if len(edges) else np.zeros(n)
        new = alpha * flow + (alpha * rank[dangling].sum() + (1 - alpha)) * personal
        if np.abs(new - rank).sum() < 1e-10:
            rank = new
            break
        rank = new
    return rank


def rank_definitions(
    tags: dict[str, FileTags], focus: Focus
) -> tuple[list[str], list[tuple[float, str, Definition]]]:
    """(files: the focus files, then the rest by rank; definitions as (score, path, def) best first)."""
    files = sorted(tags)
    index = {p: i for i, p in enumerate(files)}
    definers: dict[str, list[str]] = defaultdict(list)
    for path in files:
        for name in {d.name for d in tags[path].defs}:
            definers[name].append(path)
    edges: dict[tuple[int, int], float] = defaultdict(float)
    by_name: dict[tuple[int, int], list[tuple[str, float]]] = defaultdict(list)
    for ref_path in files:
        for name, count in tags[ref_path].refs.items():
            targets = definers.get(name)
            if not targets:
                continue
            mul = MENTION_BOOST if name in focus.idents else 1.0
            if name.startswith("_"):
                mul *= 0.1
            if len(targets) > 5:
                mul *= 0.1
            for def_path in targets:
                if def_path == ref_path:
                    continue
                weight = mul * math.sqrt(count)
                key = (index[ref_path], index[def_path])
                edges[key] += weight
                by_name[key].append((name, weight))
    personal = np.zeros(len(files))
    for path in focus.files:
        personal[index[path]] += 1.0
    for name in focus.idents:
        for path in definers.get(name, []):
            personal[index[path]] += 1.0 / len(definers[name])
    personal = (
        personal / personal.sum() if personal.sum() > 0 else np.full(len(files), 1.0 / max(len(files), 1))
    )
    rank = pagerank(len(files), dict(edges), personal)
    out_w = np.zeros(len(files))
    for (s, _), w in edges.items():
        out_w[s] += w
    scores: dict[tuple[str, str], float] = defaultdict(float)
    for (s, t), names in by_name.items():
        for name, weight in names:
            scores[(files[t], name)] += rank[s] * weight / out_w[s]
    ranked: list[tuple[float, str, Definition]] = []
    for path in files:
        defs = tags[path].defs
        for d in defs:
            score = scores.get((path, d.name), 0.0) + 0.5 * rank[index[path]] / max(len(defs), 1)
            if d.name in focus.idents:
                score *= MENTION_BOOST
            ranked.append((float(score), path, d))
    ranked.sort(key=lambda x: (-x[0], x[1], x[2].line))
    by_rank = [files[i] for i in np.argsort(-rank, kind="stable")]
    file_order = [p for p in by_rank if p in focus.files] + [p for p in by_rank if p not in focus.files]
    return file_order, ranked


def tokens(text: str) -> int:
    """Token estimate: characters / 4."""
    return math.ceil(len(text) / 4)


def render(
    file_order: list[str], chosen: list[tuple[str, Definition]], tags: dict[str, FileTags], always: set[str]
) -> str:
    """Chosen definitions grouped by file (files in rank order), methods under their class."""
    per_file: dict[str, set[int]] = defaultdict(set)
    for path, d in chosen:
        per_file[path].add(d.line)
    blocks = []
    for path in file_order:
        if path not in per_file and path not in always:
            continue
        lines = [f"{path}:"]
        defs = tags[path].defs
        picked = per_file.get(path, set())
        classes = {d.name: d for d in defs if d.kind == "class"}
        shown: set[int] = set()
        for d in defs:
            if d.line not in picked:
                continue
            if d.kind == "method" and d.parent in classes and classes[d.parent].line not in shown | picked:
                cls = classes[d.parent]
                lines.append(f"{cls.line:>6}  {cls.signature}")
                shown.add(cls.line)
            indent = "    " if d.kind == "method" else ""
            lines.append(f"{d.line:>6}  {indent}{d.signature}")
            shown.add(d.line)
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def build_map(tags: dict[str, FileTags], focus: Focus, max_tokens: int) -> tuple[str, dict[str, object]]:
    """The largest prefix of ranked definitions whose rendering fits `max_tokens` (binary search)."""
    file_order, ranked = rank_definitions(tags, focus)
    always = set(focus.files)
    pairs = [(p, d) for _, p, d in ranked]
    lo, hi, best = 0, len(pairs), ""
    while lo <= hi:
        mid = (lo + hi) // 2
        text = render(file_order, pairs[:mid], tags, always)
        if tokens(text) <= max_tokens:
            best, lo = text, mid + 1
        else:
            hi = mid - 1
    shown = max(lo - 1, 0)
    if not best and always:
        best = render(file_order, [], tags, set())  # even the named files' headers do not fit
    return best, {"definitions": len(pairs), "shown": shown, "file_order": file_order[:20]}

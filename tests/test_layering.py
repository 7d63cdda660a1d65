"""Imports flow one way, inside one installed namespace.

Layers (lowest first): the ground floor (`patchjury/__init__.py`, `patchjury/records.py`: shared records that
import nothing of ours), `patchjury.envs`, `patchjury.tools` (-> envs), `patchjury.agent` (-> tools, envs),
`patchjury.selection` (-> envs), and the front door (the rest of `patchjury/`, which may import everything).
The packages live in folders at the repository root and are installed as `patchjury.<name>` (the symlinks in
patchjury/ point at them); nothing anywhere imports them by their bare folder names.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("agent", "tools", "envs", "selection")
GROUND = {"patchjury", "patchjury.records"}
ALLOWED = {
    "ground": set(),
    "envs": {"ground", "envs"},
    "tools": {"ground", "tools", "envs"},
    "agent": {"ground", "agent", "tools", "envs"},
    "selection": {"ground", "selection", "envs"},
    "front": {"ground", "front", *LAYERS},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return out


def _layer_of_module(mod: str) -> str | None:
    """Layer of an imported dotted name, or None when it is not ours."""
    parts = mod.split(".")
    if parts[0] != "patchjury":
        return None
    if mod in GROUND or (len(parts) >= 2 and parts[1] == "records"):
        return "ground"
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    return "front"


def _layer_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT)
    if rel.parts[0] in LAYERS:
        return rel.parts[0]
    if rel.as_posix() in ("patchjury/__init__.py", "patchjury/records.py"):
        return "ground"
    return "front"


def _our_files() -> list[Path]:
    files = [p for pkg in LAYERS for p in (ROOT / pkg).rglob("*.py")]
    files += [p for p in (ROOT / "patchjury").glob("**/*.py") if not any(x in LAYERS for x in p.parts[-3:-1])]
    return sorted(set(files))


def test_namespace_links_point_at_the_root_folders() -> None:
    for pkg in LAYERS:
        link = ROOT / "patchjury" / pkg
        assert link.is_symlink() and link.resolve() == (ROOT / pkg).resolve(), f"patchjury/{pkg} -> ../{pkg}"


def test_imports_flow_one_way() -> None:
    bad = []
    for path in _our_files():
        layer = _layer_of_file(path)
        for lineno, mod in _imports(path):
            target = _layer_of_module(mod)
            if target is None:
                continue
            if mod == "patchjury" and layer != "front":
                continue  # `from patchjury import records` also yields the bare package name
            if target not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{lineno} ({layer}) imports {mod} ({target})")
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_nothing_imports_the_bare_folder_names() -> None:
    """`import agent` would load a second copy of the package beside `patchjury.agent` (and collide with any
    other distribution's `agent`)."""
    bad = []
    for folder in (*LAYERS, "patchjury", "tests", "scripts", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if folder == "patchjury" and path.relative_to(ROOT / "patchjury").parts[0] in LAYERS:
                continue
            for lineno, mod in _imports(path):
                if mod.split(".")[0] in LAYERS:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {mod}")
    assert not bad, "import these as patchjury.<name>:\n" + "\n".join(bad)


def test_ground_floor_imports_nothing_of_ours() -> None:
    for rel in ("patchjury/__init__.py", "patchjury/records.py"):
        mods = {m for _, m in _imports(ROOT / rel)}
        assert not {m for m in mods if m.split(".")[0] == "patchjury"}, rel


def _module_name(path: Path) -> str:
    """`selection/verifier/model.py` -> `patchjury.selection.verifier.model`; packages by their `__init__`."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] in LAYERS:
        parts.insert(0, "patchjury")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_block(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_graph(*, type_checking: bool = False) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, at module level or inside functions (what runs sooner or later);
    `if TYPE_CHECKING:` blocks only with `type_checking`. `from a.b import c` points at `a.b.c` when that is a
    module, else at `a.b`; relative imports are resolved."""
    modules = {_module_name(p): p for p in _our_files()}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()

        def visit(node: ast.AST, package: str = package, found: set[str] = found) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _type_checking_block(child) and not type_checking:
                    for other in child.orelse:
                        visit(other)
                    continue
                if isinstance(child, ast.Import):
                    found.update(a.name for a in child.names)
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        up = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                        base = ".".join([*up, base] if base else up)
                    found.update(
                        f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in child.names
                    )
                visit(child)

        visit(ast.parse(path.read_text(), filename=str(path)))
        targets = set()
        for mod in found:
            while mod and mod not in modules:
                mod = mod.rpartition(".")[0]
            if mod and mod != name:
                targets.add(mod)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> ... -> a) per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            strong(v)
    cycles = []
    for comp in components:
        start = min(comp)
        path, seen = [start], {start}
        while True:  # walk inside the component until a module repeats: that stretch is a cycle
            nxt = min(w for w in graph[path[-1]] if w in comp)
            if nxt in seen:
                cycles.append([*path[path.index(nxt) :], nxt])
                break
            path.append(nxt)
            seen.add(nxt)
    return cycles


def test_import_graph_has_no_cycles() -> None:
    """No module of ours reaches itself through imports (module level or inside functions; `if TYPE_CHECKING:`
    blocks aside): a cycle means the layers inside a package are not layers."""
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_selection_has_no_cycles_even_through_type_checking_imports() -> None:
    """Stricter inside selection/ (the package that grows most): annotations-only imports form no cycle either."""
    graph = {
        m: {t for t in targets if t.startswith("patchjury.selection")}
        for m, targets in _import_graph(type_checking=True).items()
        if m.startswith("patchjury.selection")
    }
    cycles = _cycles(graph)
    assert not cycles, "import cycles in selection:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_cycle_finder_reports_a_cycle() -> None:
    """The check above can fail: a planted cycle is found and printed as a path."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": set()}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert (
        "patchjury.selection.verifier.model"
        in _import_graph()["patchjury.selection.verifier.sklearn_verifier"]
    )

"""Imports flow one way, inside one installed namespace.

Layers (lowest first): the ground floor (`patchjury/__init__.py`, `patchjury/records.py`,
`patchjury/trajectory_record.py`: shared records that import nothing of ours but each other), `patchjury.envs`, `patchjury.tools` (-> envs), `patchjury.agent` (-> tools, envs),
`patchjury.selection` (-> envs), then the front door, four packages:
`patchjury.report` (what a run shows: -> the layers), `patchjury.core` (the wiring: settings, pipeline, solve,
swebench run, select: -> report and the layers), `patchjury.action` (the GitHub Action: -> core and report only,
since it runs `patchjury solve` in a subprocess) and `patchjury.cli` (arguments: -> core, report, the layers).
The packages live in folders at the repository root and are installed as `patchjury.<name>` (the symlinks in
patchjury/ point at them); nothing anywhere imports them by their bare folder names.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("agent", "tools", "envs", "selection")
FRONT = ("report", "core", "action", "cli")
GROUND_FILES = ("patchjury/__init__.py", "patchjury/records.py", "patchjury/trajectory_record.py")
ALLOWED = {
    "ground": {"ground"},
    "envs": {"ground", "envs"},
    "tools": {"ground", "tools", "envs"},
    "agent": {"ground", "agent", "tools", "envs"},
    "selection": {"ground", "selection", "envs"},
    "report": {"ground", "report", *LAYERS},
    "core": {"ground", "core", "report", *LAYERS},
    "action": {"ground", "action", "core", "report"},
    "cli": {"ground", "cli", "core", "report", *LAYERS},
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
    if len(parts) >= 2 and parts[1] in (*LAYERS, *FRONT):
        return parts[1]
    return "ground"  # the package itself, patchjury.records, or a name from patchjury/__init__ (__version__)


def _layer_of_file(path: Path) -> str:
    rel = path.relative_to(ROOT)
    if rel.parts[0] in LAYERS:
        return rel.parts[0]
    if rel.as_posix() in GROUND_FILES:
        return "ground"
    assert rel.parts[0] == "patchjury" and rel.parts[1] in FRONT, f"{rel} belongs to no layer"
    return rel.parts[1]


def _our_files() -> list[Path]:
    files = [p for pkg in LAYERS for p in (ROOT / pkg).rglob("*.py")]
    front = ROOT / "patchjury"
    files += [p for p in front.rglob("*.py") if p.relative_to(front).parts[0] not in LAYERS]
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
            if target not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{lineno} ({layer}) imports {mod} ({target})")
    assert not bad, "layering violations:\n" + "\n".join(bad)


NAMED_MODULE = re.compile(r"patchjury(\.[a-z_][a-z0-9_]*)+(:[A-Za-z_][A-Za-z0-9_]*)?")


def _imports_by_name(source: str) -> list[tuple[int, str]]:
    """Modules of ours a file names in strings: the registries' lazy imports (`"patchjury.tools.view:ViewTool"`,
    `importlib.import_module(...)` targets). A command line (`[python, "-m", "patchjury.cli", ...]`) starts
    another process and imports nothing here, so strings in a list or tuple holding "-m" are not counted."""
    tree = ast.parse(source)
    command_lines = {
        id(elt)
        for node in ast.walk(tree)
        if isinstance(node, ast.List | ast.Tuple)
        and any(isinstance(e, ast.Constant) and e.value == "-m" for e in node.elts)
        for elt in node.elts
    }
    return [
        (node.lineno, node.value.partition(":")[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and NAMED_MODULE.fullmatch(node.value)
        and id(node) not in command_lines
    ]


def _by_name_violations(layer: str, source: str) -> list[str]:
    return [
        f"{lineno}: ({layer}) names {mod} ({_layer_of_module(mod)})"
        for lineno, mod in _imports_by_name(source)
        if _layer_of_module(mod) not in ALLOWED[layer]
    ]


def test_imports_by_name_flow_one_way_too() -> None:
    """A registry imports its entries by name, out of sight of `import` statements: those names obey the same
    rules (an Env backend registered as "patchjury.selection..." would be an upward arrow)."""
    bad = [
        f"{path.relative_to(ROOT)}:{v}"
        for path in _our_files()
        for v in _by_name_violations(_layer_of_file(path), path.read_text())
    ]
    assert not bad, "layering violations through imports by name:\n" + "\n".join(bad)
    assert _by_name_violations("envs", 'B = {"x": "patchjury.selection.verifier.judge:from_config"}') == [
        "1: (envs) names patchjury.selection.verifier.judge (selection)"
    ]
    assert _by_name_violations("action", 'CMD = ["python", "-m", "patchjury.cli", "solve"]') == []
    assert _by_name_violations("tools", 'T = {"view": "patchjury.tools.view:ViewTool"}') == []


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
    """Ground-floor modules import nothing of ours but each other (the trajectory record holds TestFiles)."""
    for rel in GROUND_FILES:
        mods = {m for _, m in _imports(ROOT / rel)}
        ours = {m for m in mods if m.split(".")[0] == "patchjury"}
        assert all(_layer_of_module(m) == "ground" for m in ours), (rel, ours)
        assert all(m.split(".")[1] in ("records", "trajectory_record") for m in ours if "." in m), (rel, ours)


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


def test_the_front_door_is_four_packages_over_the_ground_floor() -> None:
    """Every module of patchjury/ (besides the ground floor and the linked layers) lives in one of FRONT."""
    front = ROOT / "patchjury"
    loose = sorted(p.name for p in front.glob("*.py") if p.relative_to(ROOT).as_posix() not in GROUND_FILES)
    assert not loose, f"put these in one of patchjury/{{{','.join(FRONT)}}}/: {loose}"
    for name in FRONT:
        assert (front / name / "__init__.py").is_file(), name
    for path in _our_files():
        _layer_of_file(path)  # asserts every file has a layer


def test_the_action_process_imports_no_agent_jury_or_environment() -> None:
    """The Action's own process stays light (it runs `patchjury solve` in a subprocess): importing its modules
    loads none of the layers below the front door, nor their heavy libraries."""
    code = (
        "import sys, patchjury.action.run, patchjury.action.publish, patchjury.action.trigger\n"
        "heavy = ('patchjury.agent', 'patchjury.tools', 'patchjury.envs', 'patchjury.selection', 'litellm',"
        " 'langgraph', 'docker', 'sklearn')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert run.stdout.strip() == "[]", run.stdout

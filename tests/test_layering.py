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

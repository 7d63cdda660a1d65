"""Imports flow one way: patchjury -> agent, selection; agent -> tools -> envs; selection -> envs.

`patchjury.records` (shared records) imports nothing of ours and may be imported from anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = {"patchjury", "agent", "tools", "envs", "selection"}
ALLOWED = {
    "envs": {"envs"},
    "tools": {"tools", "envs"},
    "agent": {"agent", "tools", "envs"},
    "selection": {"selection", "envs"},
    "patchjury": OURS,
}
SHARED = "patchjury.records"


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


def test_imports_flow_one_way() -> None:
    bad = []
    for pkg, allowed in ALLOWED.items():
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for lineno, mod in _imports(path):
                top = mod.split(".")[0]
                if top not in OURS or mod == SHARED or mod.startswith(SHARED + "."):
                    continue
                if mod == "patchjury" and pkg != "patchjury":
                    continue  # `from patchjury import records` is recorded as patchjury.records too
                if top not in allowed:
                    bad.append(f"{path.relative_to(ROOT)}:{lineno} imports {mod}")
    assert not bad, "layering violations:\n" + "\n".join(bad)


def test_records_imports_nothing_of_ours() -> None:
    mods = {m.split(".")[0] for _, m in _imports(ROOT / "patchjury" / "records.py")}
    assert not mods & OURS

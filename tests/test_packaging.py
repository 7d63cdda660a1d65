"""What `pip install patchjury` puts into site-packages: one top-level package, `patchjury`, holding the four
layers (from the root folders, through the symlinks in patchjury/) and the front door, with its package data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "runs"
)
PACKAGE_DATA = (
    "patchjury/agent/prompts/default.yaml",
    "patchjury/selection/verifier/prompts/judge.yaml",
    "patchjury/selection/verifier/artifacts/verifier-v2.json",
    "patchjury/selection/verifier/artifacts/MODEL_CARD.md",
    "patchjury/envs/swebench/recipes.yaml",
    "patchjury/tools/queries/python-tags.scm",
)


@pytest.mark.slow
def test_wheel_holds_only_the_patchjury_namespace_with_its_data(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT, src, symlinks=True, ignore=SKIP
    )  # the working tree as it is; builds write nothing here
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("patchjury-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    tops = {n.split("/")[0] for n in names} - dist_info
    assert tops == {"patchjury"}, f"top-level names besides the namespace: {sorted(tops - {'patchjury'})}"
    for sub in ("agent", "tools", "envs", "selection", "core", "report", "action", "cli"):
        assert f"patchjury/{sub}/__init__.py" in names, sub
    assert "patchjury/records.py" in names and "patchjury/envs/swebench/grading.py" in names
    missing = [p for p in PACKAGE_DATA if p not in names]
    assert not missing, f"package data left out of the wheel: {missing}"
    assert not [n for n in names if "/tests/" in n or n.startswith(("tests/", "scripts/", "docs/"))]
    (info,) = dist_info
    entry = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt").decode()
    assert "patchjury = patchjury.cli:main" in entry

"""What `patchjury select` loads: the runtime jury only, never the training code (selection.training) nor the
libraries only training needs. Checked in a fresh interpreter that runs the real command, with execution in a
local checkout, so every module the select path touches (config, verifier, execution, regression, explanation)
is imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jury_repo
import pytest

TRAINING_ONLY = ("patchjury.selection.training", "sklearn", "scipy")

RUN = """
import json, sys
from patchjury.cli import main
sys.argv = ["patchjury", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _run_select(args: list[str], cwd: Path) -> tuple[int, list[str]]:
    run = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args)], capture_output=True, text=True, cwd=cwd, timeout=600
    )
    assert run.stdout.strip(), run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return int(result["code"] or 0), list(result["modules"])


@pytest.mark.slow
def test_select_with_execution_imports_no_training_code(tmp_path: Path) -> None:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    cands = tmp_path / "cands.jsonl"
    rows = [c.model_dump(exclude_defaults=True) for c in jury_repo.candidates(patches, sys.executable)]
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    inst = tmp_path / "instances.jsonl"
    row = {
        "instance_id": "slug-1",
        "problem_statement": jury_repo.ISSUE,
        "base_commit": sha,
        "repo": "x/slug",
    }
    inst.write_text(json.dumps(row) + "\n")
    out = tmp_path / "preds.jsonl"
    args = ["select", "--candidates", str(cands), "--instances", str(inst), "--out", str(out)]
    code, modules = _run_select(
        [*args, "--repo", str(repo), "-q", "-c", "regression.enabled=false"], tmp_path
    )
    assert code == 0
    # the jury really ran, verifier included
    assert json.loads(out.read_text())["winner"] in ("good", "good_dup")
    assert "patchjury.selection.verifier.sklearn_verifier" in modules
    assert "patchjury.selection.execution" in modules
    loaded = [m for m in modules if m.startswith(TRAINING_ONLY)]
    assert not loaded, f"`patchjury select` imported training-only modules: {loaded[:10]}"

"""`patchjury select` over runs a team already has: SWE-agent `.traj` and mini-swe-agent `.traj.json` files as
candidates (patch from the submission, scripts from the trajectory), in a real temporary git repository, locally
and in containers; an unreadable trajectory is an explained, dropped candidate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchjury.cli import app
from patchjury.selection.candidates import load_candidates
from patchjury.selection.training.pools import mini_traj

sys.path.insert(0, str(Path(__file__).parent))
import jury_repo

SCRIPT = "from textutil import slugify\nprint(repr(slugify('  a  b ')))"


def _swe_traj(patch: str, python: str) -> dict:
    """A SWE-agent 0.x run: create + edit its script, run it, edit the code, run it again, submit (the script
    left in the submission as a new file, as SWE-agent's runs did)."""
    lines = SCRIPT.splitlines()
    own = "".join(f"+{line}\n" for line in lines)
    submission = patch + (
        "diff --git a/reproduce.py b/reproduce.py\nnew file mode 100644\n--- /dev/null\n+++ b/reproduce.py\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{own}"
    )
    return {
        "environment": "swe_main",
        "trajectory": [
            {
                "action": "create reproduce.py\n",
                "observation": "[File: /slugrepo/reproduce.py (1 lines total)]",
            },
            {
                "action": f"edit 1:1\n{SCRIPT}\nend_of_edit\n",
                "observation": "[File: /slugrepo/reproduce.py (2 lines total)]",
            },
            {"action": f"{python} reproduce.py\n", "observation": "'--a--b-'"},
            {"action": "open textutil.py\n", "observation": "[File: /slugrepo/textutil.py (3 lines total)]"},
            {
                "action": "edit 3:3\n    return fixed\nend_of_edit\n",
                "observation": "[File: /slugrepo/textutil.py]",
            },
            {"action": f"{python} reproduce.py\n", "observation": "'a-b'"},
            {"action": "submit\n", "observation": submission},
        ],
        "info": {"exit_status": "submitted", "submission": submission},
    }


def _runs(root: Path, patches: dict[str, str], python: str) -> Path:
    runs = root / "runs"
    better = patches["good"].replace('"-".join(s.lower().split())', '"-".join(s.split()).lower()')
    for name, patch in (("run1", patches["good"]), ("run3", better)):
        (runs / name).mkdir(parents=True)
        (runs / name / "slug-1.traj").write_text(json.dumps(_swe_traj(patch, python)))
    mini_row = {
        "exit_status": "Submitted",
        "model_patch": patches["partial"],
        "steps": [
            {"command": f"cat <<'EOF' > check.py\n{SCRIPT}\nEOF", "returncode": 0, "observation": ""},
            {"command": f"{python} check.py", "returncode": 0, "observation": "'--a--b-'"},
            {"command": "sed -i 's/x/y/' textutil.py", "returncode": 0, "observation": ""},
            {"command": f"{python} check.py", "returncode": 0, "observation": "'a--b'"},
        ],
    }
    (runs / "run2" / "slug-1").mkdir(parents=True)
    (runs / "run2" / "slug-1" / "slug-1.traj.json").write_text(json.dumps(mini_traj(mini_row)))
    (runs / "broken").mkdir()
    (runs / "broken" / "slug-1.traj").write_text('{"trajectory": [')  # a run killed mid-write
    return runs


def test_trajectory_files_become_candidates(tmp_path: Path) -> None:
    _, _, patches = jury_repo.make_repo(tmp_path)
    cands = {c.candidate_id: c for c in load_candidates(_runs(tmp_path, patches, "python3"))}
    assert sorted(cands) == ["broken", "run1", "run2", "run3"]
    assert {c.instance_id for c in cands.values()} == {"slug-1"}
    one = cands["run1"]
    assert one.model_patch.startswith(patches["good"]) and one.status == "submitted"
    assert [(t.path, t.command) for t in one.tests] == [("reproduce.py", "python3 reproduce.py")]
    assert one.tests[0].content.strip() == SCRIPT
    assert [(t.path, t.command) for t in cands["run2"].tests] == [("check.py", "python3 check.py")]
    assert cands["broken"].model_patch == "" and cands["broken"].tests == []


def _select(tmp_path: Path, *extra: str) -> tuple[dict, str]:
    repo, sha, patches = jury_repo.make_repo(tmp_path)
    python = "python3" if "docker" in extra else sys.executable
    runs = _runs(tmp_path, patches, python)
    inst = tmp_path / "instances.jsonl"
    inst.write_text(
        json.dumps(
            {
                "instance_id": "slug-1",
                "problem_statement": jury_repo.ISSUE,
                "base_commit": sha,
                "repo": "x/slug",
            }
        )
        + "\n"
    )
    out = tmp_path / "preds.jsonl"
    args = [
        "select",
        "--candidates",
        str(runs),
        "--instances",
        str(inst),
        "--out",
        str(out),
        "--repo",
        str(repo),
    ]
    res = CliRunner().invoke(app, [*args, "-q", "-c", "regression.enabled=false", *extra])
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())
    return row, (tmp_path / "preds.explain" / "slug-1.md").read_text()


def _check(row: dict, md: str) -> None:
    assert row["winner"] in ("run1", "run3")  # the two fixes whose scripts print the same new output
    assert row["scores"]["broken"]["dropped"] == "empty patch"
    assert row["scores"]["run2"]["scores"]["behaviour"] < row["scores"]["run1"]["scores"]["behaviour"]
    assert any("broken" in r and "scored without its trajectory" in r for r in row["reasons"])
    assert any("scratch files stripped" in r and "reproduce.py" in r for r in row["reasons"])
    assert "## Behaviour (what the tests print)" in md and "`'--a--b-'`" in md


def test_select_over_trajectory_files_locally(tmp_path: Path) -> None:
    _check(*_select(tmp_path))


@pytest.mark.docker
def test_select_over_trajectory_files_in_containers(tmp_path: Path, base_image: str) -> None:
    _check(*_select(tmp_path, "--env", "docker", "--image", base_image))

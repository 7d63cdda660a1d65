"""`patchjury swebench run` on two instances the test writes in the SWE-bench schema, over two small
repositories it creates (its own repo cache and install recipes), with a replay model replaying a recorded
trajectory per instance. Then a rerun (resumable: nothing is redone) and grading with --eval.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import git
from pj_helpers import make_git_repo

from patchjury.report.swebench import InstanceResult

REPOS: dict[str, dict[str, Any]] = {
    "pjfront/pricing": {
        "files": {
            "pricing.py": "def discount(price, percent):\n    return price - price * percent\n",
            "tests/__init__.py": "",
            "tests/test_pricing.py": "import unittest\n\nfrom pricing import discount\n\n\n"
            "class T(unittest.TestCase):\n    def test_zero(self):\n        self.assertEqual(discount(80, 0), 80)\n",
        },
        "issue": "discount(200, 10) returns -1800; percent is 0-100, expected 180",
        "old": "price - price * percent\n",
        "new": "price - price * percent / 100\n",
        "file": "pricing.py",
        "repro": "import sys\nfrom pricing import discount\nsys.exit(0 if discount(200, 10) == 180 else 2)\n",
        "test_add": "    def test_ten(self):\n        self.assertEqual(discount(200, 10), 180)\n",
        "f2p": "test_ten (tests.test_pricing.T.test_ten)",
        "p2p": "test_zero (tests.test_pricing.T.test_zero)",
    },
    "pjfront/shout": {
        "files": {
            "shout.py": "def shout(text):\n    return text.lower() + '!'\n",
            "tests/__init__.py": "",
            "tests/test_shout.py": "import unittest\n\nfrom shout import shout\n\n\n"
            "class T(unittest.TestCase):\n    def test_bang(self):\n        self.assertTrue(shout('a').endswith('!'))\n",
        },
        "issue": "shout('hi') gives 'hi!' but should give 'HI!'",
        "old": "text.lower() + '!'\n",
        "new": "text.upper() + '!'\n",
        "file": "shout.py",
        "repro": "import sys\nfrom shout import shout\nsys.exit(0 if shout('hi') == 'HI!' else 2)\n",
        "test_add": "    def test_upper(self):\n        self.assertEqual(shout('hi'), 'HI!')\n",
        "f2p": "test_upper (tests.test_shout.T.test_upper)",
        "p2p": "test_bang (tests.test_shout.T.test_bang)",
    },
}
RECIPES = """repos:
{entries}"""
ENTRY = """  {repo}:
    python: "3.11"
    install: ["python3 -c 'print(1)'"]
    test_cmd: python3 -m unittest -v
    directives: paths
    log_parser: parse_log_django
    test_timeout: 120
"""


def _test_patch(spec: dict[str, Any], test_file: str) -> str:
    """The gold tests: lines appended to the test file (a hunk with 3 lines of context)."""
    old = spec["files"][test_file].splitlines()
    added = ["", *spec["test_add"].splitlines()]
    start = len(old) - 2
    body = "".join(" " + ln + "\n" for ln in old[-3:]) + "".join("+" + ln + "\n" for ln in added)
    header = f"@@ -{start},3 +{start},{3 + len(added)} @@"
    return f"diff --git a/{test_file} b/{test_file}\n--- a/{test_file}\n+++ b/{test_file}\n{header}\n{body}"


def _call(i: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"call-{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def _recorded_trajectory(spec: dict[str, Any]) -> dict[str, Any]:
    """What a recorded run looks like to the replay model: its assistant messages, in order."""
    steps = [
        ("Reproduce first.", "write_test", {"path": "repro_issue.py", "content": spec["repro"]}),
        ("Check it fails.", "run_test", {"path": "repro_issue.py"}),
        (
            "Fix.",
            "edit",
            {"command": "str_replace", "path": spec["file"], "old_str": spec["old"], "new_str": spec["new"]},
        ),
        ("Done.", "submit", {}),
    ]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "(recorded)"},
        {"role": "user", "content": spec["issue"]},
    ]
    for i, (text, tool, args) in enumerate(steps):
        messages.append({"role": "assistant", "content": text, "tool_calls": [_call(i, tool, args)]})
        messages.append({"role": "tool", "tool_call_id": f"call-{i}", "content": "(observation)"})
    return {"format": "patchjury-trajectory/1", "messages": messages}


def _setup(root: Path) -> tuple[Path, Path, Path, Path, list[str]]:
    cache = root / "cache"
    cache.mkdir()
    replays = root / "replays"
    replays.mkdir()
    rows, ids = [], []
    for k, (repo, spec) in enumerate(REPOS.items()):
        work = make_git_repo(root / "work" / repo.replace("/", "__"), spec["files"])
        subprocess.run(
            ["git", "clone", "-q", "--bare", str(work), str(cache / repo.replace("/", "__"))], check=True
        )
        iid = f"{repo.replace('/', '__')}-{k + 1}"
        ids.append(iid)
        test_file = next(p for p in spec["files"] if p.startswith("tests/test_"))
        rows.append({
            "instance_id": iid, "repo": repo, "base_commit": git(work, "rev-parse", "HEAD"), "version": "0.1",
            "problem_statement": spec["issue"], "hints_text": "", "created_at": "2026-01-01T00:00:00Z",
            "patch": "(gold patch: never shown to the agent)", "test_patch": _test_patch(spec, test_file),
            "FAIL_TO_PASS": json.dumps([spec["f2p"]]), "PASS_TO_PASS": json.dumps([spec["p2p"]]),
            "environment_setup_commit": "",
        })  # fmt: skip
        (replays / f"{iid}.json").write_text(json.dumps(_recorded_trajectory(spec)))
    instances = root / "instances.jsonl"
    instances.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipes = root / "recipes.yaml"
    recipes.write_text(RECIPES.format(entries="".join(ENTRY.format(repo=r) for r in REPOS)))
    return cache, instances, recipes, replays, ids


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "swebench", "run", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
        timeout=900,
    )


@pytest.fixture
def built_images(tmp_path: Path) -> Iterator[Path]:
    """Removes the environment images this test's run built (their repos are unique to the test)."""
    out = tmp_path / "out"
    yield out
    tags = set()
    for result in out.glob("instances/*/result.json"):
        tags.add(json.loads(result.read_text()).get("image"))
    for tag in sorted(t for t in tags if t and t.startswith("patchjury/env:pjfront__")):
        subprocess.run(["docker", "rmi", tag], capture_output=True)  # gone already is fine


@pytest.mark.docker
@pytest.mark.slow
def test_swebench_run_two_instances_resume_and_eval(
    tmp_path: Path, base_image: str, built_images: Path
) -> None:
    cache, instances, recipes, replays, ids = _setup(tmp_path)
    out = built_images
    common = [
        "--instances", str(instances), "--repo-cache", str(cache), "--no-clone", "--recipes", str(recipes),
        "--out", str(out), "-n", "2", "--traj-workers", "2", "--workers", "2", "--quiet",
        "-c", "model.type=replay", "-c", f"model.replay_path={replays}/{{instance_id}}.json", "-c", "model.name=replay",
    ]  # fmt: skip
    run = _run(*common, "--eval")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]

    preds = [json.loads(line) for line in (out / "preds.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in preds] == ids
    for pred, spec in zip(preds, REPOS.values(), strict=True):
        assert set(pred) == {"instance_id", "model_patch", "model_name_or_path"}
        assert (
            "+    return " + spec["new"] in pred["model_patch"] and "repro_issue" not in pred["model_patch"]
        )
        assert pred["model_name_or_path"] == "patchjury"
    for iid in ids:
        inst = out / "instances" / iid
        result = InstanceResult.load(inst)  # the one reader of result.json
        assert result is not None and result.done and result.own_test == "pass" and result.eval == "resolved"
        assert result.n_trajectories == 2 and result.container_minutes > 0 and result.image
        assert len((inst / "candidates.jsonl").read_text().splitlines()) == 2
        assert len(list((inst / "trajectories").rglob("t00*.json"))) == 2
        assert "jury decision" in (inst / "explanation.md").read_text()
        prompt = json.dumps(
            json.loads(next((inst / "trajectories").rglob("t000.json")).read_text())["messages"][:2]
        )
        assert "gold patch" not in prompt and "test_upper" not in prompt and "test_ten" not in prompt
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["done"] == 2 and summary["totals"]["resolved"] == 2
    assert summary["eval"]["resolved_ids"] == ids
    table = (out / "summary.md").read_text()
    assert (
        "| instance | status | winner | own test | eval | cost ($) | tokens (cached) | container-min |"
        in table
    )
    assert f"| {ids[0]} | done |" in table and "**resolved 2/2**" in table

    # Rerun: both instances are finished, so nothing runs again and the outputs stay.
    before = {iid: (out / "instances" / iid / "result.json").stat().st_mtime_ns for iid in ids}
    again = _run(*common)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((out / "summary.json").read_text())["skipped_existing"] == 2
    assert {iid: (out / "instances" / iid / "result.json").stat().st_mtime_ns for iid in ids} == before
    assert [json.loads(x)["instance_id"] for x in (out / "preds.jsonl").read_text().splitlines()] == ids

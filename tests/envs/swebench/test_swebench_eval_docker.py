"""End to end: a tiny SWE-bench-schema dataset over a real git repo, graded in real containers.

The repository (calc.py with a bug in `add`) is served from a repo cache as a bare mirror behind a symlink;
the instance image is built locally from the `patchjury-tests/tinycalc` recipe in envs/swebench/recipes.yaml
(no network needed: plain unittest). Predictions: the gold patch (resolved), an empty patch, a patch that does
not apply (graded "patch failed to apply", run continues), a wrong fix (unresolved), and an instance without a
recipe (recorded error). A second run resumes: nothing is graded again.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest

from patchjury.envs.swebench.evaluate import EvalConfig, Outcome, evaluate

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
REPO = "patchjury-tests/tinycalc"

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = (
    "import unittest\n\nfrom calc import add, mul\n\n\nclass CalcTest(unittest.TestCase):\n"
    "    def test_mul(self):\n        self.assertEqual(mul(2, 3), 6)\n"
)
GOLD = "\n".join(
    [
        "diff --git a/calc.py b/calc.py",
        "--- a/calc.py",
        "+++ b/calc.py",
        "@@ -1,5 +1,5 @@",
        " def add(a, b):",
        "-    return a - b",
        "+    return a + b",
        " ",
        " ",
        " def mul(a, b):",
        "",
    ]
)
WRONG = GOLD.replace("+    return a + b", "+    return a * b")
BROKEN = GOLD.replace("-    return a - b", "-    return a ** b  # not in the file")
TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -6,3 +6,6 @@ from calc import add, mul
 class CalcTest(unittest.TestCase):
     def test_mul(self):
         self.assertEqual(mul(2, 3), 6)
+
+    def test_add(self):
+        self.assertEqual(add(2, 3), 5)
"""
F2P = ["test_add (tests.test_calc.CalcTest.test_add)"]
P2P = ["test_mul (tests.test_calc.CalcTest.test_mul)"]


def _make_repo(root: Path) -> tuple[Path, str]:
    work = root / "work"
    (work / "tests").mkdir(parents=True)
    (work / "calc.py").write_text(CALC)
    (work / "tests" / "test_calc.py").write_text(TESTS)
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-q", "-m", "calc"], check=True)
    sha = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    mirror = root / "mirrors" / "tinycalc.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirror)], check=True)
    cache = root / "cache"
    cache.mkdir()
    (cache / "patchjury-tests__tinycalc").symlink_to(mirror)  # a cache entry may be a symlink to a bare repo
    return cache, sha


def _instance(iid: str, sha: str, repo: str = REPO) -> dict[str, object]:
    return {
        "instance_id": iid,
        "repo": repo,
        "base_commit": sha,
        "version": "0.1",
        "problem_statement": "add() subtracts",
        "patch": GOLD,
        "test_patch": TEST_PATCH,
        "FAIL_TO_PASS": json.dumps(F2P),  # old schema: JSON strings
        "PASS_TO_PASS": P2P,
    }


@pytest.mark.docker
@pytest.mark.slow
def test_eval_end_to_end_and_resume(tmp_path: Path, base_image: str) -> None:
    cache, sha = _make_repo(tmp_path)
    ids = {
        name: f"patchjury-tests__tinycalc-{n}" for n, name in enumerate(["gold", "empty", "broken", "wrong"])
    }
    rows = [_instance(iid, sha) for iid in ids.values()]
    rows.append(_instance("nobody__norecipe-1", sha, repo="nobody/norecipe"))
    instances = tmp_path / "instances.jsonl"
    instances.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    patches = {"gold": GOLD, "empty": "", "broken": BROKEN, "wrong": WRONG}
    preds = [{"instance_id": ids[k], "model_patch": p, "model_name_or_path": "t"} for k, p in patches.items()]
    preds.append({"instance_id": "nobody__norecipe-1", "model_patch": GOLD, "model_name_or_path": "t"})
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text("\n".join(json.dumps(p) for p in preds) + "\n")
    out = tmp_path / "out"
    config = EvalConfig(
        predictions=predictions,
        instances=str(instances),
        repo_cache=cache,
        allow_clone=False,
        workers=2,
        out=out,
    )

    summary = evaluate(config, progress=False)

    gold = json.loads((out / ids["gold"] / "report.json").read_text())[ids["gold"]]
    assert gold["resolved"] is True and gold["patch_successfully_applied"] is True
    assert gold["tests_status"]["FAIL_TO_PASS"] == {"success": F2P, "failure": []}
    assert gold["tests_status"]["PASS_TO_PASS"] == {"success": P2P, "failure": []}
    assert "Ran 2 tests" in (out / ids["gold"] / "test_output.txt").read_text()
    assert (out / ids["gold"] / "patch.diff").read_text() == GOLD
    broken = json.loads((out / ids["broken"] / "report.json").read_text())[ids["broken"]]
    assert broken["status"] == "patch_failed" and broken["reason"].startswith("patch failed to apply")
    assert broken["resolved"] is False and broken["patch_successfully_applied"] is False
    wrong = json.loads((out / ids["wrong"] / "report.json").read_text())[ids["wrong"]]
    assert wrong["resolved"] is False and wrong["tests_status"]["FAIL_TO_PASS"]["failure"] == F2P
    error = json.loads((out / "nobody__norecipe-1" / "error.json").read_text())
    assert "no install recipe for nobody/norecipe" in error["reason"]

    assert summary["resolved_ids"] == [ids["gold"]]
    assert summary["unresolved_ids"] == sorted([ids["broken"], ids["wrong"]])
    assert summary["empty_patch_ids"] == [ids["empty"]]
    assert summary["error_ids"] == ["nobody__norecipe-1"]
    assert summary["patch_failed_ids"] == [ids["broken"]]
    assert (summary["total_instances"], summary["submitted_instances"], summary["completed_instances"]) == (
        5,
        5,
        3,
    )
    assert json.loads((out / "summary.json").read_text()) == summary
    for key in ("resolved_instances", "unresolved_instances", "empty_patch_instances", "error_instances"):
        assert key in summary

    seen: list[Outcome] = []
    again = evaluate(config, progress=False, on_outcome=seen.append)
    skipped = {o.instance_id for o in seen if o.status == "skipped"}
    assert skipped == {ids["gold"], ids["empty"], ids["broken"], ids["wrong"]}
    assert [o.instance_id for o in seen if o.status != "skipped"] == ["nobody__norecipe-1"]  # errors retried
    assert again == summary


def _fake_official_image(env_image: str, tag: str) -> None:
    """An image laid out like the official ones: repo at /testbed, `source /opt/miniconda3/bin/activate`
    followed by `conda activate testbed` works (here a no-op)."""
    name = f"pj-fake-official-{uuid.uuid4().hex[:8]}"
    script = "mkdir -p /opt/miniconda3/bin && echo 'conda() { :; }' > /opt/miniconda3/bin/activate"
    try:
        subprocess.run(
            ["docker", "run", "--name", name, "--entrypoint", "bash", env_image, "-c", script],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(["docker", "commit", name, tag], check=True, capture_output=True, timeout=120)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=120)


@pytest.mark.docker
@pytest.mark.slow
def test_eval_with_official_images(tmp_path: Path, base_image: str) -> None:
    from patchjury.envs.swebench.build import prepare_instance_image
    from patchjury.envs.swebench.instances import SWEInstance

    cache, sha = _make_repo(tmp_path)
    eval_script = (
        "#!/bin/bash\nset -uxo pipefail\nsource /opt/miniconda3/bin/activate\nconda activate testbed\n"
        "export LANG=C.UTF-8\n: '>>>>> Start Test Output'\npython3 -m unittest -v tests/test_calc.py\n"
        ": '>>>>> End Test Output'\n"
    )
    built = prepare_instance_image(SWEInstance.model_validate(_instance("x", sha)), repo_cache=cache)
    official = "patchjury-test/fake-official:tinycalc"
    _fake_official_image(built.tag, official)
    try:
        rows = [
            _instance("tinycalc-official", sha) | {"eval_script": eval_script, "image": official},
            _instance("tinycalc-unpullable", sha) | {"image": "localhost:1/patchjury-none:latest"},
        ]
        instances = tmp_path / "instances.json"
        instances.write_text(json.dumps(rows))
        predictions = tmp_path / "preds.json"
        predictions.write_text(json.dumps({r["instance_id"]: {"model_patch": GOLD} for r in rows}))
        config = EvalConfig(
            predictions=predictions,
            instances=str(instances),
            use_official_image=True,
            out=tmp_path / "out",
            allow_clone=False,
        )
        summary = evaluate(config, progress=False)
    finally:
        subprocess.run(["docker", "rmi", "-f", official], capture_output=True)
    report = json.loads((tmp_path / "out" / "tinycalc-official" / "report.json").read_text())[
        "tinycalc-official"
    ]
    assert report["resolved"] is True and report["official_image"] is True
    assert report["test_cmd"].startswith("source /opt/miniconda3/bin/activate && conda activate testbed")
    assert summary["resolved_ids"] == ["tinycalc-official"]
    assert summary["error_ids"] == ["tinycalc-unpullable"]
    assert (
        "docker pull localhost:1/patchjury-none:latest failed"
        in summary["error_reasons"]["tinycalc-unpullable"]
    )


@pytest.mark.docker
@pytest.mark.slow
def test_hanging_tests_time_out_unresolved(tmp_path: Path, base_image: str) -> None:
    cache, sha = _make_repo(tmp_path)
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(_instance("tinycalc-hang", sha)) + "\n")
    hang = GOLD.replace("+    return a + b", "+    while True:\n+        pass").replace(
        "@@ -1,5 +1,5 @@", "@@ -1,5 +1,6 @@"
    )
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"instance_id": "tinycalc-hang", "model_patch": hang}) + "\n")
    config = EvalConfig(
        predictions=predictions,
        instances=str(instances),
        repo_cache=cache,
        out=tmp_path / "out",
        test_timeout=3,
    )
    summary = evaluate(config, progress=False)
    report = json.loads((tmp_path / "out" / "tinycalc-hang" / "report.json").read_text())["tinycalc-hang"]
    assert report["patch_successfully_applied"] is True and report["resolved"] is False
    assert report["reason"] == "tests timed out after 3s"
    assert summary["unresolved_ids"] == ["tinycalc-hang"]


#: Keys of the official harness's run report (swebench.harness.reporting.make_run_report, schema_version 2).
OFFICIAL_RUN_KEYS = {
    "total_instances",
    "submitted_instances",
    "completed_instances",
    "resolved_instances",
    "unresolved_instances",
    "empty_patch_instances",
    "error_instances",
    "completed_ids",
    "incomplete_ids",
    "empty_patch_ids",
    "submitted_ids",
    "resolved_ids",
    "unresolved_ids",
    "error_ids",
    "schema_version",
}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    return subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "swebench", "eval", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.docker
@pytest.mark.slow
def test_eval_run_id_official_layout_report_keys_and_exit_codes(tmp_path: Path, base_image: str) -> None:
    cache, sha = _make_repo(tmp_path)
    instances = tmp_path / "instances.jsonl"
    rows = [_instance("tinycalc-gold", sha), _instance("tinycalc-wrong", sha)]
    instances.write_text("".join(json.dumps(r) + "\n" for r in rows))
    predictions = tmp_path / "preds.jsonl"
    preds = [("tinycalc-gold", GOLD), ("tinycalc-wrong", WRONG)]
    predictions.write_text(
        "".join(
            json.dumps({"instance_id": i, "model_patch": p, "model_name_or_path": "org/model-x"}) + "\n"
            for i, p in preds
        )
    )
    out = tmp_path / "out"
    base = ["-p", str(predictions), "-i", str(instances), "--repo-cache", str(cache), "--no-clone", "-q"]

    run = _cli(*base, "--out", str(out), "--run-id", "r1")

    assert run.returncode == 0, run.stderr  # finished: exit 0 whatever was resolved (as the official harness)
    logs = out / "logs" / "run_evaluation" / "r1" / "org__model-x"
    for iid in ("tinycalc-gold", "tinycalc-wrong"):
        assert {p.name for p in (logs / iid).iterdir()} >= {"report.json", "test_output.txt", "patch.diff"}
    report = json.loads((logs / "tinycalc-wrong" / "report.json").read_text())["tinycalc-wrong"]
    assert {"patch_is_None", "patch_exists", "patch_successfully_applied", "resolved", "tests_status"} <= set(
        report
    )
    assert set(report["tests_status"]) == {"FAIL_TO_PASS", "PASS_TO_PASS", "FAIL_TO_FAIL", "PASS_TO_FAIL"}
    run_report = out / "org__model-x.r1.json"
    assert run.stdout.strip().splitlines()[-1] == str(run_report)
    summary = json.loads(run_report.read_text())
    assert set(summary) >= OFFICIAL_RUN_KEYS and summary["schema_version"] == 2
    assert (summary["resolved_ids"], summary["unresolved_ids"]) == (["tinycalc-gold"], ["tinycalc-wrong"])
    assert not (out / "summary.json").exists() and not (out / "tinycalc-gold").exists()

    again = _cli(*base, "--out", str(out), "--run-id", "r2")  # another run id: graded again, side by side
    assert again.returncode == 0 and (out / "org__model-x.r2.json").is_file()
    assert (
        out / "logs" / "run_evaluation" / "r2" / "org__model-x" / "tinycalc-gold" / "report.json"
    ).is_file()

    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"instance_id": "nobody-1", "model_patch": GOLD}) + "\n")
    bad = _cli("-p", str(unknown), "-i", str(instances), "--out", str(out), "--run-id", "r3")
    assert bad.returncode == 2 and bad.stderr.startswith("error:")  # bad input, as argparse's usage errors
    assert _cli(*base, "--out", str(out), "--run-id", "bad/id").returncode == 2
    down = _cli(
        *base, "--out", str(tmp_path / "o4"), "--run-id", "r4", env={"DOCKER_HOST": "unix:///nonexistent"}
    )
    assert down.returncode == 1 and "Docker engine" in down.stderr  # the harness could not run: exit 1

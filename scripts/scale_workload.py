"""A small SWE-bench-style workload for the Ray backend's tests and scripts/bench_scale.py.

One repository (`pjscale/mods`, a bare mirror in a repo cache) with one bug per module; instance k asks to fix
module k. A deterministic model per instance (`deterministic:<dir>/{instance_id}.yaml`) writes a reproduction
test, runs it, reads the module, fixes it, runs the test again and submits: six model queries (plus `extra_steps`
file views first), each costing
`latency_s` of sleep (a fixed-latency stand-in for an LLM API), so wall time is dominated by model latency, not by
CPU, which matters on a small shared machine.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = "pjscale/mods"
RECIPES = f"""repos:
  {REPO}:
    python: "3.11"
    install: ["python3 -c 'print(1)'"]
    test_cmd: python3 -m unittest -v
    directives: paths
    log_parser: parse_log_django
    test_timeout: 120
"""


@dataclass
class Workload:
    instances: Path
    repo_cache: Path
    recipes: Path
    scripts: Path
    ids: list[str]

    @classmethod
    def load(cls, root: Path) -> Workload:
        """The workload `make_workload(root, ...)` wrote."""
        ids = [
            json.loads(line)["instance_id"] for line in (root / "instances.jsonl").read_text().splitlines()
        ]
        return cls(root / "instances.jsonl", root / "cache", root / "recipes.yaml", root / "scripts", ids)

    def model(self, latency_s: float) -> list[str]:
        """`-c` settings of the deterministic model (as `swebench run` takes them)."""
        return [
            "model.type=deterministic",
            "model.name=scripted",
            f"model.script_path={self.scripts}/{{instance_id}}.yaml",
            f"model.latency_s={latency_s}",
        ]


#: A fixed author and date: the same workload is the same commit, so its environment image (named by a content
#: hash that includes the commit) is built once and reused by every later test session and benchmark.
FIXED_DATE = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **FIXED_DATE}
    run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env=env)
    return run.stdout.strip()


def _script(k: int, extra: int = 0) -> list[dict[str, object]]:
    repro = f"import sys\nfrom mod{k} import add{k}\nsys.exit(0 if add{k}(1) == {k + 1} else 2)\n"
    look = [{"content": "Look around.", "tool": "view", "args": {"path": "tests/test_mods.py"}}] * extra
    return [
        *look,
        {
            "content": "Reproduce first.",
            "tool": "write_test",
            "args": {"path": f"repro_{k}.py", "content": repro},
        },
        {"content": "Check it fails.", "tool": "run_test", "args": {"path": f"repro_{k}.py"}},
        {"content": "Read the module.", "tool": "view", "args": {"path": f"mod{k}.py"}},
        {
            "content": "Fix.",
            "tool": "edit",
            "args": {
                "command": "str_replace",
                "path": f"mod{k}.py",
                "old_str": f"x - {k}",
                "new_str": f"x + {k}",
            },
        },
        {"content": "Check it passes.", "tool": "run_test", "args": {"path": f"repro_{k}.py"}},
        {"content": "Done.", "tool": "submit", "args": {}},
    ]


def make_workload(root: Path, n_instances: int, extra_steps: int = 0) -> Workload:
    """Repository, repo cache, instances file, recipes and model scripts under `root` (`extra_steps`: more model
    queries per trajectory, each a file view, before the six that fix the bug)."""
    root.mkdir(parents=True, exist_ok=True)
    work = root / "work"
    work.mkdir()
    files = {f"mod{k}.py": f"def add{k}(x):\n    return x - {k}\n" for k in range(1, n_instances + 1)}
    files["tests/__init__.py"] = ""
    files["tests/test_mods.py"] = "import unittest\n\nimport mod1\n\n\nclass T(unittest.TestCase):\n" + (
        "    def test_import(self):\n        self.assertTrue(callable(mod1.add1))\n"
    )
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
    base = _git(work, "rev-parse", "HEAD")
    cache = root / "cache"
    cache.mkdir()
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work), str(cache / REPO.replace("/", "__"))], check=True
    )
    scripts = root / "scripts"
    scripts.mkdir()
    rows, ids = [], []
    for k in range(1, n_instances + 1):
        iid = f"pjscale__mods-{k}"
        ids.append(iid)
        rows.append({
            "instance_id": iid, "repo": REPO, "base_commit": base, "version": "0.1",
            "problem_statement": f"add{k}(1) returns {1 - k}, expected {1 + k}: mod{k}.add{k} subtracts",
            "hints_text": "", "created_at": "2026-01-01T00:00:00Z", "patch": "(gold: never shown)",
            "test_patch": "", "FAIL_TO_PASS": "[]", "PASS_TO_PASS": "[]", "environment_setup_commit": "",
        })  # fmt: skip
        (scripts / f"{iid}.yaml").write_text(yaml.safe_dump(_script(k, extra_steps), sort_keys=False))
    instances = root / "instances.jsonl"
    instances.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipes = root / "recipes.yaml"
    recipes.write_text(RECIPES)
    return Workload(instances, cache, recipes, scripts, ids)

"""Wiring check of `patchjury swebench run` on REAL SWE-bench instances, with a scripted (oracle) policy.

NOT a result: the deterministic script below was written knowing the gold patch (it applies it with `git
apply` in the sandbox, and its reproduction test uses the fixed API). What it shows is that every stage holds
on real repositories: env images built from the recipes (Python 3.9 and 3.11), the agent's tools inside them,
reproduction tests on the original and patched code, the jury (pass matrix, regression tests, verifier),
preds.jsonl, grading with FAIL_TO_PASS/PASS_TO_PASS, the summary, and resuming. See docs/front-doors.md.

    python docs/examples/wiring_check_real_instances.py --mirrors /work/.mirror --out /tmp/pj-real
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve()
DATA = HERE.parents[3] / "shared" / "data" / "swebench" / "lite_test.jsonl.gz"

#: instance -> (file to look at, scripted reproduction test). Exit 0 = resolved, 2 = reproduced.
INSTANCES = {
    "pallets__flask-4045": (
        "src/flask/blueprints.py",
        "import sys\nfrom flask import Blueprint\ntry:\n    Blueprint('a.b', __name__)\nexcept ValueError:\n"
        "    sys.exit(0)\nsys.exit(2)\n",
    ),
    "pallets__flask-4992": (
        "src/flask/config.py",
        "import os, sys, tempfile, tomllib\nfrom flask import Flask\napp = Flask(__name__)\n"
        "path = os.path.join(tempfile.mkdtemp(), 'c.toml')\nopen(path, 'w').write('FOO = 1\\n')\ntry:\n"
        "    app.config.from_file(path, tomllib.load, text=False)\nexcept TypeError:\n    sys.exit(2)\n"
        "sys.exit(0 if app.config['FOO'] == 1 else 2)\n",
    ),
}


def oracle_script(file: str, test: str, gold: str) -> list[dict[str, object]]:
    """Trajectories 0 and 1 apply the gold patch; trajectory 2 gives up (an empty candidate for the jury)."""
    apply = (
        "cat > /tmp/oracle.diff <<'PJ_EOF'\n" + gold + "PJ_EOF\ngit apply /tmp/oracle.diff && git diff --stat"
    )
    return [
        {"content": "Look at the code the issue is about.", "tool": "view", "args": {"path": file}},
        {
            "tool": "write_test",
            "args": {"path": "repro_issue.py", "content": "{% raw %}" + test + "{% endraw %}"},
        },
        {"tool": "run_test", "args": {"path": "repro_issue.py"}},
        {
            "content": "{% if index % 3 == 2 %}Giving up.{% else %}Apply the (scripted) fix.{% endif %}",
            "tool": "run",
            "args": {
                "command": "{% if index % 3 == 2 %}git status{% else %}{% raw %}"
                + apply
                + "{% endraw %}{% endif %}"
            },
        },
        {"tool": "run_test", "args": {"path": "repro_issue.py"}},
        {"tool": "submit", "args": {}},
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--mirrors", type=Path, default=Path("/work/.mirror"), help="dir with owner+name/repo mirrors"
    )
    ap.add_argument("--out", type=Path, default=Path("/tmp/pj-real"))
    ap.add_argument("-n", type=int, default=3)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with gzip.open(DATA, "rt") as fh:
        rows = {r["instance_id"]: r for r in map(json.loads, fh) if r["instance_id"] in INSTANCES}
    cache = args.out / "repo-cache"
    cache.mkdir(exist_ok=True)
    scripts = args.out / "scripts"
    scripts.mkdir(exist_ok=True)
    for iid, (file, test) in INSTANCES.items():
        repo = rows[iid]["repo"]
        link = cache / repo.replace("/", "__")
        if not link.exists():
            link.symlink_to(args.mirrors / repo.replace("/", "+") / "repo")
        steps = oracle_script(file, test, rows[iid]["patch"])
        (scripts / f"{iid}.yaml").write_text(yaml.safe_dump({"steps": steps}, sort_keys=False))
    instances = args.out / "instances.jsonl"
    instances.write_text("".join(json.dumps(rows[i]) + "\n" for i in INSTANCES))
    cmd = [
        sys.executable, "-m", "patchjury.cli", "swebench", "run", "--instances", str(instances),
        "--repo-cache", str(cache), "--no-clone", "--out", str(args.out / "run"), "-n", str(args.n),
        "--traj-workers", "2", "--workers", "2", "--eval",
        "-c", "model.type=deterministic", "-c", "model.name=oracle-script",
        "-c", f"model.script_path={scripts}/{{instance_id}}.yaml",
    ]  # fmt: skip
    print(" ".join(cmd), flush=True)
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())

"""Without --ray nothing changes and Ray is never imported (it is an optional extra): a whole offline run (the
demo: trajectories, the jury, the report) in a fresh interpreter, then a look at sys.modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys
from patchjury.cli import main
sys.argv = ["patchjury", "demo", "--dir", sys.argv[1], "-n", "2", "--latency", "0", "-c", "env.type=local"]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))
print(json.dumps({"code": code, "ray": loaded, "cluster": "patchjury.core.cluster.connect" in sys.modules}))
"""


def test_a_run_without_ray_never_imports_it(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "demo")], capture_output=True, text=True, timeout=600
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None), run.stderr[-3000:]
    assert report == {"code": report["code"], "ray": [], "cluster": False}


def test_the_ray_flags_are_documented() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "patchjury.cli", "swebench", "run", "--help"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert "--ray" in run.stdout and "--image-registry" in run.stdout and "patchjury_slots" in run.stdout


def test_ray_alone_means_the_cluster_on_this_machine() -> None:
    from patchjury.cli import optional_values

    assert optional_values(["swebench", "run", "--ray"]) == ["swebench", "run", "--ray", "auto"]
    assert optional_values(["run", "--ray", "--quiet"]) == ["run", "--ray", "auto", "--quiet"]
    assert optional_values(["run", "--ray", "10.0.0.5:6379", "-q"]) == ["run", "--ray", "10.0.0.5:6379", "-q"]

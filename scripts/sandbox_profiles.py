"""Grade gold patches of real SWE-bench instances under several sandbox profiles and compare (issue 15).

    .venv/bin/python scripts/sandbox_profiles.py --repo-cache /work/cache/repos --out /tmp/pj-profiles \
        --instance-ids sympy__sympy-20154,django__django-14016 [--profiles default,read-only,root-default-caps]

Profiles change only the grading container (user, capabilities, root filesystem); images, recipes and the
grading code are the ones `patchjury swebench eval` uses. Prints, per instance, whether every profile's per-test
results equal the first profile's, and the container start and test times; writes OUT/<profile>/ reports.
Results: docs/swebench-validation.md (Sandbox hardening).
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patchjury.envs.swebench import runner  # noqa: E402
from patchjury.envs.swebench.evaluate import EvalConfig, evaluate  # noqa: E402

DEFAULT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
                "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"]  # fmt: skip
PROFILES: dict[str, dict[str, Any]] = {
    "root-default-caps": {"user": "root", "cap_add": DEFAULT_CAPS, "no_new_privileges": False},
    "default": {},
    "read-only": {"read_only_root": True},
    "root-no-caps": {"user": "root"},
}
DATA = ROOT.parent / "shared" / "data" / "swebench"


def _rows(ids: list[str]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name in ("lite_test", "lite_dev", "verified_test"):
        with gzip.open(DATA / f"{name}.jsonl.gz", "rt") as fh:
            for line in fh:
                row = json.loads(line)
                rows.setdefault(row["instance_id"], row)
    return [rows[i] for i in ids]


def grade(profile: str, rows: list[dict[str, Any]], out: Path, repo_cache: Path) -> None:
    extra = PROFILES[profile]
    plan_of = runner._plan

    def plan(instance: Any, config: Any, inst_dir: Path) -> Any:
        p = plan_of(instance, config, inst_dir)
        return dataclasses.replace(p, config=p.config.model_copy(update=extra))

    runner._plan = plan  # type: ignore[assignment]
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "instances.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        preds = out / "preds.jsonl"
        preds.write_text("".join(json.dumps({"instance_id": r["instance_id"], "model_patch": r["patch"],
                                             "model_name_or_path": "gold"}) + "\n" for r in rows))  # fmt: skip
        cfg = EvalConfig(predictions=preds, instances=str(out / "instances.jsonl"), out=out / "eval",
                         repo_cache=repo_cache, redo=True)  # fmt: skip
        evaluate(cfg, progress=False)
    finally:
        runner._plan = plan_of  # type: ignore[assignment]


def _report(out: Path, iid: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((out / "eval" / iid / "report.json").read_text())[iid]
    except (OSError, KeyError, ValueError):
        return {}
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo-cache", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--instance-ids", required=True)
    ap.add_argument("--profiles", default="root-default-caps,default,read-only,root-no-caps")
    args = ap.parse_args()
    ids = [i for i in args.instance_ids.replace(",", " ").split() if i]
    profiles = args.profiles.split(",")
    rows = _rows(ids)
    for profile in profiles:
        grade(profile, rows, args.out / profile, args.repo_cache)
    starts: dict[str, list[float]] = {p: [] for p in profiles}
    for iid in ids:
        reports = {p: _report(args.out / p, iid) for p in profiles}
        ref = reports[profiles[0]].get("tests_status")
        cells = []
        for p, r in reports.items():
            times = r.get("times", {})
            if "container_s" in times:
                starts[p].append(times["container_s"])
            same = "same" if r.get("tests_status") == ref else "DIFFERENT"
            cells.append(f"{p}: {r.get('status', 'error')} {same} start {times.get('container_s', '-')} s")
        print(iid, " | ".join(cells))
    for p, values in starts.items():
        if values:
            print(f"{p}: median container start {statistics.median(values):.2f} s over {len(values)}")


if __name__ == "__main__":
    main()

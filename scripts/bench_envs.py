"""Benchmark the Env backends: container start, exec overhead, reset, and a candidates x tests matrix.

    .venv/bin/python scripts/bench_envs.py            # docker + local, 4 candidates x 4 tests
    .venv/bin/python scripts/bench_envs.py --local-only --candidates 3 --tests 5 --json /tmp/bench.json

Prints medians and ratios against the targets of issue 2 (start <= 1 s, exec overhead <= 30 ms over a plain
subprocess, matrix <= 1.15x the raw test time). The matrix runs every candidate patch against every test, either
reusing one container for the whole matrix with `reset()` between cells
("reuse"), or a fresh container per cell ("fresh"). Raw test time = the same test commands run by a plain
subprocess on the host, in a checkout with the candidate applied; the printed ratios divide by the tests' own
run time measured in the same env during the same run (so machine load cancels out). A third mode resets and
applies once per candidate and then runs all its tests. The load average is printed next to the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import Progress  # noqa: E402
from rich.table import Table  # noqa: E402

from patchjury.envs.base import GitCheckoutEnv  # noqa: E402
from patchjury.envs.config import DockerEnvConfig, LocalEnvConfig  # noqa: E402
from patchjury.envs.patching import apply_patch  # noqa: E402

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@patchjury.invalid"]
CALC = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n"
WORK = "total = sum(i * i for i in range({n}))\n"


def make_repo(root: Path, n_candidates: int, n_tests: int, work: int) -> tuple[Path, list[str], list[str]]:
    """A small repo, candidate patches (each a different change to calc.py) and pytest-like test scripts."""
    repo = root / "bench-repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "calc.py").write_text(CALC)
    (repo / ".gitignore").write_text("__pycache__/\n")
    subprocess.run([*GIT, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=repo, check=True)
    patches = []
    for c in range(n_candidates):
        (repo / "pkg" / "calc.py").write_text(CALC.replace("a + b", f"a + b + {c} - {c}"))
        patches.append(subprocess.run(["git", "diff"], cwd=repo, capture_output=True, text=True).stdout)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=repo, check=True)
    tests = []
    for t in range(n_tests):
        tests.append(
            "import sys\nsys.path.insert(0, '.')\nfrom pkg.calc import add, mul\n"
            + WORK.format(n=work)
            + f"assert add({t}, 1) == {t + 1} and mul({t}, 2) == {2 * t}\nprint('ok')\n"
        )
    return repo, patches, tests


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def apply(env: GitCheckoutEnv, patch: str) -> None:
    res = apply_patch(env, patch)
    if not res.applied:
        raise RuntimeError(f"candidate did not apply: {res.output}")


def run_test(env: GitCheckoutEnv, test: str) -> float:
    """Write and run one test; returns the test command's own duration."""
    env.write_file("bench_test.py", test)
    out = env.execute("python3 bench_test.py", timeout=300)
    if out.exit_code != 0:
        raise RuntimeError(f"test failed: {out.output}")
    return out.duration


def raw_time(repo: Path, patches: list[str], tests: list[str]) -> float:
    """Sum of the test commands' wall time as plain host subprocesses (the floor of the matrix)."""
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, patch in enumerate(patches):
            co = Path(tmp) / f"c{i}"
            subprocess.run(["git", "worktree", "add", "-q", "--detach", str(co)], cwd=repo, check=True)
            subprocess.run(["git", "apply"], cwd=co, input=patch, text=True, check=True)
            for test in tests:
                (co / "bench_test.py").write_text(test)
                total += timed(
                    lambda co=co: subprocess.run(
                        ["python3", "bench_test.py"], cwd=co, check=True, capture_output=True
                    )
                )
        subprocess.run(["git", "worktree", "prune"], cwd=repo, check=True)
    return total


def bench_backend(
    name: str,
    make: Callable[[], GitCheckoutEnv],
    repeats: int,
    patches: list[str],
    tests: list[str],
    progress: Progress,
) -> dict[str, float]:
    out: dict[str, float] = {}
    task = progress.add_task(f"{name}: start/close", total=repeats)
    starts, closes = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        env = make()
        t1 = time.perf_counter()
        env.close()
        starts.append(t1 - t0)
        closes.append(time.perf_counter() - t1)
        progress.advance(task)
    out["start_ms"] = median_ms(starts)
    out["close_ms"] = median_ms(closes)
    with make() as env:
        task = progress.add_task(f"{name}: exec", total=3 * repeats * 10)
        execs, resets, applies = [], [], []
        for _ in range(repeats * 10):
            execs.append(timed(lambda: env.execute("true")))
            progress.advance(task)
        for _ in range(repeats * 10):
            env.write_file("pkg/calc.py", "changed\n")
            env.write_file("scratch/new.txt", "x\n")
            resets.append(timed(env.reset))
            progress.advance(task)
        for _ in range(repeats * 10):
            applies.append(timed(lambda: apply_patch(env, patches[0])))
            env.reset()
            progress.advance(task)
        out["exec_ms"] = median_ms(execs)
        out["reset_ms"] = median_ms(resets)
        out["apply_patch_ms"] = median_ms(applies)
        # Matrix, one container, reset() before every cell.
        task = progress.add_task(f"{name}: matrix, reuse + reset per cell", total=len(patches) * len(tests))
        t0, inner = time.perf_counter(), 0.0
        for patch in patches:
            for test in tests:
                env.reset()
                apply(env, patch)
                inner += run_test(env, test)
                progress.advance(task)
        out["matrix_reuse_s"] = time.perf_counter() - t0
        out["matrix_reuse_tests_s"] = inner
        # Matrix, one container, reset() + apply once per candidate, then all its tests.
        task = progress.add_task(
            f"{name}: matrix, reuse + reset per candidate", total=len(patches) * len(tests)
        )
        t0, inner = time.perf_counter(), 0.0
        for patch in patches:
            env.reset()
            apply(env, patch)
            for test in tests:
                inner += run_test(env, test)
                progress.advance(task)
        out["matrix_percand_s"] = time.perf_counter() - t0
        out["matrix_percand_tests_s"] = inner
    task = progress.add_task(f"{name}: matrix, fresh env per cell", total=len(patches) * len(tests))
    t0, inner = time.perf_counter(), 0.0
    for patch in patches:
        for test in tests:
            with make() as env:
                apply(env, patch)
                inner += run_test(env, test)
            progress.advance(task)
    out["matrix_fresh_s"] = time.perf_counter() - t0
    out["matrix_fresh_tests_s"] = inner
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--tests", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=7, help="samples for start/close (x10 for exec/reset)")
    ap.add_argument(
        "--work", type=int, default=6_000_000, help="loop size of each test script (sets its run time)"
    )
    ap.add_argument("--local-only", action="store_true", help="skip the docker backend")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()
    console = Console(width=max(Console().width, 170))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="pj-bench-") as tmp:
        repo, patches, tests = make_repo(Path(tmp), args.candidates, args.tests, args.work)
        sub = [
            timed(lambda: subprocess.run(["bash", "-c", "true"], check=True))
            for _ in range(args.repeats * 10)
        ]
        raw = raw_time(repo, patches, tests)
        backends: dict[str, Callable[[], GitCheckoutEnv]] = {
            "local": lambda: _make_local(repo),
        }
        image = ""
        if not args.local_only:
            image = _env_image(repo, console)
            backends["docker"] = lambda: _make_docker(image, True)
            backends["docker (plain exec)"] = lambda: _make_docker(image, False)
        try:
            with Progress(console=console, transient=True) as progress:
                for name, make in backends.items():
                    results[name] = bench_backend(name, make, args.repeats, patches, tests, progress)
        finally:
            if image:  # the throwaway repo's env image is never reused
                subprocess.run(["docker", "rmi", "-f", image], capture_output=True)
    sub_ms = median_ms(sub)
    load = os.getloadavg()
    table = Table(
        title=f"Env benchmark: {args.candidates} candidates x {args.tests} tests "
        f"(load avg {load[0]:.1f}/{load[1]:.1f}, {os.cpu_count()} cores)"
    )
    for col in (
        "backend",
        "start",
        "close",
        "exec",
        "exec overhead",
        "reset",
        "apply_patch",
        "matrix: reuse, reset/cell",
        "reuse, reset/candidate",
        "fresh env/cell",
    ):
        table.add_column(col, justify="right")
    for name, r in results.items():
        r["exec_overhead_ms"] = r["exec_ms"] - sub_ms
        cells = []
        for mode in ("reuse", "percand", "fresh"):
            # Ratio to the tests' own run time in the same env and minute (robust to machine load), and to
            # the same tests run as host subprocesses before the benchmark.
            r[f"ratio_{mode}"] = r[f"matrix_{mode}_s"] / r[f"matrix_{mode}_tests_s"]
            r[f"ratio_{mode}_vs_host"] = r[f"matrix_{mode}_s"] / raw
            cells.append(f"{r[f'matrix_{mode}_s']:.2f} s ({r[f'ratio_{mode}']:.2f}x)")
        table.add_row(
            name,
            f"{r['start_ms']:.0f} ms",
            f"{r['close_ms']:.0f} ms",
            f"{r['exec_ms']:.1f} ms",
            f"{r['exec_overhead_ms']:+.1f} ms",
            f"{r['reset_ms']:.0f} ms",
            f"{r['apply_patch_ms']:.0f} ms",
            *cells,
        )
    console.print(table)
    console.print(
        f"plain subprocess `bash -c true`: {sub_ms:.1f} ms; raw test time (host subprocesses, "
        f"{args.candidates * args.tests} cells): {raw:.2f} s"
    )
    if "docker" in results:
        d = results["docker"]
        checks = [
            ("container start <= 1 s", d["start_ms"] <= 1000, f"{d['start_ms']:.0f} ms"),
            ("exec overhead <= 30 ms", d["exec_overhead_ms"] <= 30, f"{d['exec_overhead_ms']:.1f} ms"),
            ("matrix, reuse + reset per cell <= 1.15x", d["ratio_reuse"] <= 1.15, f"{d['ratio_reuse']:.2f}x"),
            (
                "matrix, reuse + reset per candidate <= 1.15x",
                d["ratio_percand"] <= 1.15,
                f"{d['ratio_percand']:.2f}x",
            ),
        ]
        for what, ok, value in checks:
            console.print(f"{'[green]met' if ok else '[red]MISSED'}[/] {what}: {value}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"raw_test_s": raw, "subprocess_ms": sub_ms, "loadavg": load, "backends": results}, indent=2
            )
        )


def _make_local(repo: Path) -> GitCheckoutEnv:
    from patchjury.envs.local import LocalEnv

    return LocalEnv(LocalEnvConfig(repo=repo))


def _make_docker(image: str, runner: bool) -> GitCheckoutEnv:
    from patchjury.envs.docker import DockerEnv

    return DockerEnv(DockerEnvConfig(image=image, use_runner=runner))


def _env_image(repo: Path, console: Console) -> str:
    from patchjury.envs.images import build_env_image, ensure_base_image

    base = ensure_base_image(None)
    with console.status("building the env image (cached by content hash)"):
        return build_env_image(
            base, repo, "HEAD", ["python3 -c 'import pkg.calc'"], ca_bundle=None, network=False
        )


if __name__ == "__main__":
    main()

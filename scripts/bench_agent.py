"""Benchmark the agent framework (no LLM, no real commands).

1. Per-step framework overhead: one trajectory of S steps with a zero-latency scripted model and an
   in-memory Env whose commands take no time, through the real loop (LangGraph graph, SQLite
   checkpoints, trajectory record rewritten every step, tools.registry.run_tool, workspace snapshots).
   overhead/step = wall / steps. Target <= 20 ms.
2. Parallel scaling: 32 trajectories x 20 steps, a scripted model with 0.5 s latency per call, 32 workers.
   ideal = 20 x 0.5 s = 10 s. Target: wall <= 1.1 x ideal.
3. Prompt bytes sent per step over a 50-step trajectory whose commands print 8,000 characters each, without the
   history policy (an unlimited window) and with it (a 32,768-token window): median/max/last kB per step, the
   share of bytes identical to the previous request (what a prefix cache reuses), boundary moves.

    .venv/bin/python scripts/bench_agent.py [--repeat 5] [--steps 20 50] [--parallel 32] [--latency 0.5]
    .venv/bin/python scripts/bench_agent.py --only-context [--context-steps 50] [--window 32768] [--output-chars 8000]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patchjury.agent.config import AgentConfig, ModelConfig
from patchjury.agent.runner import run_trajectories
from patchjury.envs.errors import EnvFileError
from patchjury.envs.protocol import ExecResult
from patchjury.records import Task
from patchjury.trajectory_record import load_trajectory


class MemoryEnv:
    """An Env whose commands cost nothing: isolates the framework's own time."""

    def __init__(self) -> None:
        self.workdir = "/bench"
        self.files: dict[str, str] = {}
        self.commands = 0

    def execute(self, command: str, timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        self.commands += 1
        return ExecResult(exit_code=0, output="ok\n", duration=0.0)

    def read_file(self, path: str) -> str:
        if path not in self.files:
            raise EnvFileError(f"{path}: no such file")
        return self.files[path]

    def write_file(self, path: str, content: str) -> None:
        self.files[path] = content

    def diff(self, exclude: object = ()) -> str:
        return "".join(f"+++ b/{p}\n{c}" for p, c in sorted(self.files.items()) if not p.startswith("/"))

    def reset(self) -> None:
        self.files.clear()

    def close(self) -> None:
        return


def script(steps: int) -> list[dict[str, object]]:
    return [{"content": f"step {k}", "tool": "run", "args": {"command": f"echo {k}"}} for k in range(steps)]


def run(n: int, steps: int, latency: float, workers: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one run."""
    with tempfile.TemporaryDirectory(prefix="pj-bench-") as tmp:
        task = Task(instance_id="bench", problem_statement="benchmark")
        cfg = AgentConfig(
            n_trajectories=n, workers=workers, step_limit=steps, tools=["run", "submit"], autosubmit=False
        )
        model = ModelConfig(type="deterministic", name="bench", script=script(steps), latency_s=latency)
        t0, c0 = time.perf_counter(), time.process_time()
        cands = run_trajectories(task, lambda i: MemoryEnv(), Path(tmp), cfg, model, progress=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert all(c.status == "step_limit" for c in cands), [c.status for c in cands]
        return wall, cpu


class VerboseEnv(MemoryEnv):
    """MemoryEnv whose commands print `chars` characters of distinct text (like test runs or file listings)."""

    def __init__(self, chars: int) -> None:
        super().__init__()
        self.chars = chars

    def execute(self, command: str, timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        self.commands += 1
        seed = hashlib.sha1(command.encode()).hexdigest()
        lines, size = [], 0
        while size < self.chars:
            line = f"{seed[:8]} line {len(lines)}: {seed[len(lines) % 30 : len(lines) % 30 + 10]} value={len(lines) * 7919 % 10007}"
            lines.append(line)
            size += len(line) + 1
        return ExecResult(exit_code=0, output="\n".join(lines), duration=0.0)


def context_run(steps: int, window: int | None, chars: int) -> dict[str, float]:
    """Prompt bytes the model is sent per step over one trajectory (window None: no history policy)."""
    with tempfile.TemporaryDirectory(prefix="pj-bench-ctx-") as tmp:
        task = Task(instance_id="bench", problem_statement="benchmark: long outputs")
        cfg = AgentConfig(
            n_trajectories=1, workers=1, step_limit=steps, tools=["run", "submit"], autosubmit=False
        )
        model = ModelConfig(type="deterministic", name="bench", script=script(steps), context_window=window)
        t0 = time.perf_counter()
        (cand,) = run_trajectories(task, lambda i: VerboseEnv(chars), Path(tmp), cfg, model, progress=False)
        wall = time.perf_counter() - t0
        record = load_trajectory(str(cand.trajectory))
    sent = [s.context for s in record.steps if s.context is not None]
    sizes = [c.bytes for c in sent]
    return {
        "median": statistics.median(sizes),
        "max": max(sizes),
        "last": sizes[-1],
        "total": sum(sizes),
        "stable": sum(c.stable_bytes for c in sent[1:]) / max(sum(sizes[1:]), 1),
        "moves": sum(1 for a, b in itertools.pairwise(sent) if a.elided_before != b.elided_before),
        "ms_per_step": wall / steps * 1000,
        "max_tokens": max(c.tokens for c in sent),
    }


def context_report(steps: int, window: int, chars: int) -> None:
    print(
        f"== prompt bytes sent per step: {steps} steps, {chars:,}-character outputs, window {window:,} tokens"
    )
    for label, w in (("without the history policy", None), (f"with the policy (window {window:,})", window)):
        r = context_run(steps, w, chars)
        print(
            f"  {label:34s} median {r['median'] / 1000:7.1f} kB/step, max {r['max'] / 1000:7.1f} kB, last "
            f"{r['last'] / 1000:7.1f} kB, total {r['total'] / 1e6:6.2f} MB; max {r['max_tokens']:,} tokens; "
            f"{r['stable']:.0%} of bytes identical to the previous request; boundary moves {r['moves']:.0f}; "
            f"{r['ms_per_step']:.1f} ms/step"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, nargs="+", default=[20, 50])
    ap.add_argument("--parallel", type=int, default=32)
    ap.add_argument("--parallel-steps", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--parallel-repeat", type=int, default=3)
    ap.add_argument("--context-steps", type=int, default=50, help="steps of the prompt-size run (0: skip it)")
    ap.add_argument("--window", type=int, default=32_768, help="context window of the prompt-size run")
    ap.add_argument("--output-chars", type=int, default=8_000, help="characters each command prints")
    ap.add_argument("--only-context", action="store_true", help="run only the prompt-size comparison")
    args = ap.parse_args()

    if args.only_context:
        context_report(args.context_steps, args.window, args.output_chars)
        return

    run(1, 3, 0.0, 1)  # warm up imports (langgraph, tools)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("== per-step framework overhead (1 trajectory, zero-latency model, zero-cost Env)")
    for steps in args.steps:
        runs = [run(1, steps, 0.0, 1) for _ in range(args.repeat)]
        wall = [w / steps * 1000 for w, _ in runs]
        cpu = [c / steps * 1000 for _, c in runs]
        print(
            f"  {steps:3d} steps: wall median {statistics.median(wall):6.2f} ms/step (min {min(wall):.2f}, "
            f"max {max(wall):.2f}); CPU median {statistics.median(cpu):6.2f} ms/step; target <= 20 ms"
        )

    n, steps, lat = args.parallel, args.parallel_steps, args.latency
    ideal = steps * lat
    print(f"== {n} trajectories x {steps} steps, model latency {lat}s, {n} workers (ideal {ideal:.1f}s)")
    runs = [run(n, steps, lat, n) for _ in range(args.parallel_repeat)]
    walls = [w for w, _ in runs]
    med = statistics.median(walls)
    print(
        f"  CPU {statistics.median(c for _, c in runs):.2f}s per run ({statistics.median(c for _, c in runs) / (n * steps) * 1000:.2f} ms/step)"
    )
    print(
        f"  wall median {med:.2f}s (runs: {', '.join(f'{w:.2f}' for w in walls)}), "
        f"ratio to ideal {med / ideal:.3f} (target <= 1.1)"
    )
    if args.context_steps:
        context_report(args.context_steps, args.window, args.output_chars)


if __name__ == "__main__":
    main()

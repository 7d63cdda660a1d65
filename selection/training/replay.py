"""Saved execution signals of real candidate pools, replayed on candidate subsets for Best@K benchmarks.

`scripts/collect_exec_signals.py` runs the jury's execution half (pass matrix over reproduction tests, regression
signal) per instance and writes one JSON line per instance, each candidate keyed by the sha1 of its patch. Several
files (e.g. one regression-only run and one reproduction-test run) merge per candidate. `subset_signals` rebuilds
the `Signals` a decision rule would have seen had only a subset of the pool been submitted: cluster sizes, the
kept-test votes and the distinguishing tests are recomputed within the subset, so the shipped rules
(`r2e_hybrid`, `staged`) run unchanged on every subset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from patchjury.selection.candidates import text_lines
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.selectors import Signals


@dataclass
class ExecEntry:
    """One candidate's execution evidence (None: not measured)."""

    dropped: str | None = None
    kept_pass: list[bool] | None = None
    """Pass per kept reproduction test (exit 2 on the original code), in the instance's kept-test order."""
    regression_failures: int | None = None
    regression_total: int | None = None


def load_exec_signals(paths: Sequence[str | Path]) -> dict[str, dict[str, ExecEntry]]:
    """instance_id -> patch sha1 -> merged entry (files may be gzipped: `.gz`); instances whose record has an
    `error` are left out."""
    merged: dict[str, dict[str, ExecEntry]] = {}
    for path in paths:
        for n, line in text_lines(Path(path)):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                iid = rec["instance_id"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise CandidateFormatError(
                    f"{path}:{n}: not an execution-signals record ({exc}); regenerate it with "
                    "scripts/collect_exec_signals.py"
                ) from exc
            if rec.get("error"):
                continue
            kind = rec.get("signals", "both")
            pool = merged.setdefault(iid, {})
            for row in rec.get("candidates", []):
                entry = pool.setdefault(row["patch_sha1"], ExecEntry())
                entry.dropped = entry.dropped or row.get("dropped")
                if kind in ("both", "repro"):
                    entry.kept_pass = row.get("kept_pass")
                if kind in ("both", "regression"):
                    entry.regression_failures = row.get("regression_failures")
                    entry.regression_total = row.get("regression_total")
    return merged


def subset_signals(
    entries: Sequence[ExecEntry | None],
    keys: Sequence[str | None],
    verifier: Sequence[float] | None,
    ids: Sequence[str],
    static: Sequence[int | None] | None = None,
) -> list[Signals]:
    """Signals of a submitted subset: `entries`, cluster `keys` (None = dropped), scores and static-check error
    counts (`StaticReport.errors`, None = not checked) are per member."""
    sizes: dict[str, int] = {}
    for k in keys:
        if k is not None:
            sizes[k] = sizes.get(k, 0) + 1
    order = {k: i for i, k in enumerate(dict.fromkeys(k for k in keys if k is not None))}
    out: list[Signals] = []
    for j, (entry, key, cid) in enumerate(zip(entries, keys, ids, strict=True)):
        e = entry or ExecEntry()
        dropped = e.dropped or (None if key is not None else "empty or unparsable patch")
        out.append(
            Signals(
                cid,
                cluster=order[key] if key is not None else -1,
                cluster_size=sizes.get(key, 0) if key is not None else 0,
                dropped=dropped,
                regression_failures=e.regression_failures,
                regression_total=e.regression_total,
                verifier_score=float(verifier[j]) if verifier is not None else None,
                static_errors=static[j] if static is not None else None,
            )
        )
    rows = {
        j: e.kept_pass for j, (s, e) in enumerate(zip(out, entries, strict=True)) if s.alive and e is not None
    }
    width = max((len(r) for r in rows.values() if r), default=0)
    if width:
        full = {j: r for j, r in rows.items() if r is not None and len(r) == width}
        split = [t for t in range(width) if len({r[t] for r in full.values()}) > 1]
        for j, r in full.items():
            out[j].repro_total = width
            out[j].repro_pass = sum(r)
            out[j].exec_score = float(sum(r))
            out[j].distinguishing_pass = sum(r[t] for t in split)
    return out


def execution_only_value(signals: Sequence[Signals], labels: Sequence[bool]) -> float:
    """Execution alone: most kept reproduction tests passed, then fewest regression failures; ties -> mean label."""
    alive = [(s, y) for s, y in zip(signals, labels, strict=True) if s.alive]
    if not alive:
        return 0.0
    best = max((s.repro_pass or 0) for s, _ in alive)
    alive = [(s, y) for s, y in alive if (s.repro_pass or 0) == best]
    known = [s.regression_failures for s, _ in alive if s.regression_failures is not None]
    if known:
        alive = [(s, y) for s, y in alive if s.regression_failures == min(known)]
    return float(sum(bool(y) for _, y in alive)) / len(alive)

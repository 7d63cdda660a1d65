"""Saved execution evidence (scripts/collect_evidence.py, `patchjury-evidence/1`) replayed on any subset of a pool.

A record holds, per instance: every candidate's key, patch sha1 and cluster; the pass matrix over the original
code and one representative per cluster, with every cell's exit code, timeout, output digest, excerpt, exception
and marker; the tests with their authors; the regression counts it measured. `subset_signals` rebuilds what the
jury would have seen had only some candidates been submitted: only their tests exist (plus the issue-derived
ones), authorship and agreement count only them, cluster sizes are recounted; exit-code tests, behaviour votes
(selection.behaviour, the same code the pipeline runs) and regression are recomputed on the subset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchjury.selection.behaviour import read_behaviour
from patchjury.selection.candidates import text_lines
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.selectors import Signals

FORMAT = "patchjury-evidence/1"


@dataclass(frozen=True)
class SavedRun:
    """One saved cell (the selection.behaviour.Run fields)."""

    status: str
    exit_code: int | None
    timed_out: bool
    digest: str
    excerpt: str
    exception: str | None
    marker: str | None
    duration: float = 0.0


@dataclass
class InstanceEvidence:
    """One instance's saved evidence."""

    instance_id: str
    cluster: dict[str, int]
    """candidate key -> cluster id (-1: dropped before running)."""
    subject: dict[int, str]
    """cluster id -> the representative that ran."""
    dropped: dict[str, str]
    """candidate key -> why it cannot win (empty patch, does not apply...)."""
    tests: list[tuple[str, list[str], str]]
    """(test id, author keys, origin) in run order."""
    runs: dict[tuple[str, str], SavedRun]
    regression: dict[str, int] = field(default_factory=dict)
    """subject -> new failures, for the clusters this collection measured."""
    regression_total: int | None = None
    container_s: float = 0.0


def _run(cell: Mapping[str, Any]) -> SavedRun:
    return SavedRun(
        status=cell["status"],
        exit_code=cell.get("exit_code"),
        timed_out=bool(cell.get("timed_out")),
        digest=cell.get("digest") or "",
        excerpt=cell.get("excerpt") or "",
        exception=cell.get("exception"),
        marker=cell.get("marker"),
        duration=float(cell.get("duration") or 0.0),
    )


def parse_record(rec: Mapping[str, Any]) -> InstanceEvidence:
    m = rec["matrix"]
    cluster = {c["key"]: int(c["cluster"]) for c in rec["candidates"]}
    subject = {
        int(c["cluster"]): c["subject"] for c in rec["candidates"] if c["cluster"] >= 0 and c["subject"]
    }
    dropped = {c["key"]: c["dropped"] for c in rec["candidates"] if c.get("dropped")}
    for rep, why in (m.get("apply_failures") or {}).items():
        for key, cl in cluster.items():
            if cl >= 0 and subject.get(cl) == rep:
                dropped[key] = f"does not apply: {why}"
    reg = rec.get("regression") or {}
    return InstanceEvidence(
        instance_id=rec["instance_id"],
        cluster=cluster,
        subject=subject,
        dropped=dropped,
        tests=[
            (t["test_id"], list(t.get("authors") or []), t.get("origin", "candidate")) for t in m["tests"]
        ],
        runs={(c["subject"], c["test_id"]): _run(c) for c in m["cells"]},
        regression={s: int(n) for s, n in (reg.get("failures") or {}).items()},
        regression_total=reg.get("baseline_passing"),
        container_s=float(rec.get("container_s") or 0.0),
    )


def load_evidence(paths: Sequence[str | Path]) -> dict[str, InstanceEvidence]:
    """instance_id -> evidence; records without a matrix (no environment) are left out."""
    out: dict[str, InstanceEvidence] = {}
    for path in paths:
        for n, line in text_lines(Path(path)):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if rec.get("error"):
                    continue
                if rec.get("format") != FORMAT:
                    raise KeyError("format")
                out[rec["instance_id"]] = parse_record(rec)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise CandidateFormatError(
                    f"{path}:{n}: not a {FORMAT} record ({exc!r}); regenerate it with scripts/collect_evidence.py"
                ) from exc
    return out


def subset_signals(
    ev: InstanceEvidence,
    keys: Sequence[str],
    ids: Sequence[str] | None = None,
    verifier: Sequence[float] | None = None,
    static: Sequence[int | None] | None = None,
    regression: Mapping[str, int | None] | None = None,
) -> list[Signals]:
    """Signals of the submitted subset `keys` (candidate keys of the pool; `ids` renames them for the rules).
    `regression` gives per-key counts measured elsewhere (earlier runs), used where this evidence has none."""
    ids = list(ids or keys)
    members: dict[str, list[str]] = {}
    sizes: dict[int, int] = {}
    for k in keys:
        cl = ev.cluster.get(k, -1)
        if cl >= 0 and k not in ev.dropped:
            sizes[cl] = sizes.get(cl, 0) + 1
            members.setdefault(ev.subject[cl], []).append(k)
    present = set(keys)
    tests = [
        (tid, [a for a in authors if a in present])
        for tid, authors, origin in ev.tests
        if origin != "candidate" or any(a in present for a in authors)
    ]
    behaviour = read_behaviour(tests, ev.runs, members) if members else None
    kept = [tid for tid, _ in tests if (run := ev.runs.get(("original", tid))) and run.exit_code == 2]
    rows = {
        s: [bool((r := ev.runs.get((s, t))) and r.exit_code == 0 and not r.timed_out) for t in kept]
        for s in members
    }
    split = [j for j in range(len(kept)) if len({row[j] for row in rows.values()}) > 1]
    out: list[Signals] = []
    for j, (key, cid) in enumerate(zip(keys, ids, strict=True)):
        cl = ev.cluster.get(key, -1)
        sig = Signals(cid, cluster=cl, cluster_size=sizes.get(cl, 0), dropped=ev.dropped.get(key))
        if cl < 0 and sig.dropped is None:
            sig.dropped = "empty or unparsable patch"
        if verifier is not None:
            sig.verifier_score = float(verifier[j])
        if static is not None:
            sig.static_errors = static[j]
        subject = ev.subject.get(cl)
        if sig.alive and subject is not None:
            if kept:
                row = rows[subject]
                sig.repro_total, sig.repro_pass = len(kept), sum(row)
                sig.exec_score = float(sum(row))
                sig.distinguishing_pass = sum(row[t] for t in split)
            if behaviour is not None and behaviour.informative and subject in behaviour.support:
                sig.behaviour = behaviour.support[subject]
                sig.crashes = behaviour.crashes[subject]
                sig.oracle_pass = behaviour.oracle_passes[subject]
                sig.behaviour_class = behaviour.class_index.get(subject)
            if subject in ev.regression:
                sig.regression_failures, sig.regression_total = ev.regression[subject], ev.regression_total
            elif regression is not None:
                sig.regression_failures = _cluster_regression(ev, cl, regression)
        out.append(sig)
    return out


def _cluster_regression(ev: InstanceEvidence, cl: int, regression: Mapping[str, int | None]) -> int | None:
    """A cluster's count from earlier runs: any member of the full pool that was measured (same patch)."""
    for key, c in ev.cluster.items():
        if c == cl and regression.get(key) is not None:
            return regression[key]
    return None


@dataclass
class EvidenceStats:
    """What saved evidence holds (full pools): how many tests of each origin, and how many became informative."""

    instances: int = 0
    candidates: int = 0
    subjects: int = 0
    """Cluster representatives run (one per cluster of identical normalized patches)."""
    tests: dict[str, int] = field(default_factory=dict)
    """origin -> tests run."""
    exit_code: dict[str, int] = field(default_factory=dict)
    """origin -> tests following the exit-code convention (exit 2 on the original code)."""
    informative: dict[str, int] = field(default_factory=dict)
    """origin -> tests where some candidate behaves differently from the original."""
    instances_informative: int = 0
    """Instances with at least one informative test."""
    cells: int = 0
    container_s: float = 0.0


def evidence_stats(evidence: Mapping[str, InstanceEvidence]) -> EvidenceStats:
    st = EvidenceStats()
    for ev in evidence.values():
        st.instances += 1
        st.candidates += len(ev.cluster)
        st.subjects += len(ev.subject)
        st.cells += len(ev.runs)
        st.container_s += ev.container_s
        members: dict[str, list[str]] = {}
        for key, cl in ev.cluster.items():
            if cl >= 0 and key not in ev.dropped:
                members.setdefault(ev.subject[cl], []).append(key)
        reading = read_behaviour([(t, a) for t, a, _ in ev.tests], ev.runs, members) if members else None
        useful = {r.test_id for r in reading.informative} if reading else set()
        st.instances_informative += bool(useful)
        for tid, _, origin in ev.tests:
            st.tests[origin] = st.tests.get(origin, 0) + 1
            orig = ev.runs.get(("original", tid))
            st.exit_code[origin] = st.exit_code.get(origin, 0) + bool(orig and orig.exit_code == 2)
            st.informative[origin] = st.informative.get(origin, 0) + (tid in useful)
    return st


NO_SURVIVOR = "no resolved candidate survives (empty patch or does not apply)"
SEPARATES = "tests or regression counts separate a resolved candidate from every unresolved one"
NOT_INFORMATIVE = "not separated; no informative test (every candidate prints what the original prints)"
ALIKE = "not separated; informative tests, but each resolved candidate behaves exactly like an unresolved one"
SEPARABILITY = (SEPARATES, NOT_INFORMATIVE, ALIKE, NO_SURVIVOR)


def separability(
    ev: InstanceEvidence,
    keys: Sequence[str],
    labels: Sequence[bool],
    regression: Mapping[str, int | None] | None = None,
) -> str:
    """Can any rule that reads only this execution evidence tell a resolved candidate of the full pool from the
    unresolved ones? Each surviving candidate's fingerprint is its cluster representative's (exit code, timeout,
    output digest) on every test plus its regression count (measured here, else `regression`, per key); a
    resolved candidate is separable when no unresolved one shares its fingerprint. Labels are read here only, to
    analyse misses after the fact."""
    regression = regression or {}
    tests = [t for t, _, _ in ev.tests]

    def fingerprint(subject: str) -> tuple[Any, ...]:
        return tuple(
            (r.digest, r.exit_code, r.timed_out) if (r := ev.runs.get((subject, t))) else None for t in tests
        )

    prints: dict[str, tuple[Any, ...]] = {}
    for key in keys:
        cl = ev.cluster.get(key, -1)
        if cl < 0 or key in ev.dropped or cl not in ev.subject:
            continue
        subject = ev.subject[cl]
        reg = ev.regression.get(subject, _cluster_regression(ev, cl, regression))
        prints[key] = (*fingerprint(subject), reg)
    label = dict(zip(keys, labels, strict=True))
    if not any(label[k] for k in prints):
        return NO_SURVIVOR
    wrong = {p for k, p in prints.items() if not label[k]}
    if any(label[k] and p not in wrong for k, p in prints.items()):
        return SEPARATES
    original = fingerprint("original")
    return NOT_INFORMATIVE if all(p[: len(tests)] == original for p in prints.values()) else ALIKE

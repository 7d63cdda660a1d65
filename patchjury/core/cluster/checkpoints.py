"""Checkpoints that travel: one trajectory's resumable state moved between run directories (node <-> driver).

A trajectory's resumable state in a run directory is (agent.runner, agent.checkpoint, agent.trajectory):
    checkpoints.sqlite                         its LangGraph thread `<instance>/tNNN` (counters, file references)
    trajectories/<instance>/tNNN.json|.patch   the record (messages, steps, outputs)
    blobs/<instance>/tNNN/...                  workspace snapshots and the submission the state refers to
`Exporter` turns it into `Checkpoint`s: the first one of an exporter is complete, later ones carry only what
changed (new messages and steps, new blob files), so a step costs what it adds, not the whole record again.
`Importer` writes them into another run directory (the driver's, or a node's scratch directory when a trajectory
resumes elsewhere): blobs and record first, then the state, so the state never names a missing file. Paths
inside the state and record are rewritten from one run directory to the other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchjury.agent.trajectory import blob_dir, traj_id_for, trajectory_path, write_atomic
from patchjury.trajectory_record import parse_trajectory

TOKEN = "@patchjury-run-dir@"


@dataclass
class Checkpoint:
    """One trajectory's state at one checkpoint (or what changed since the previous one)."""

    index: int
    seq: int
    values: dict[str, Any] | None
    """LangGraph state values (run-directory paths tokenized); None before the first checkpoint."""
    next: tuple[str, ...]
    """Nodes the graph runs next (() = finished)."""
    record: dict[str, Any] | None = None
    """The whole trajectory record, or None when `delta` carries the change."""
    delta: dict[str, Any] | None = None
    """{"messages_from", "messages", "steps_from", "steps", "rest"}: the change of the record."""
    patch: str | None = None
    blobs: dict[str, str] = field(default_factory=dict)
    """run-dir-relative path -> text of blob files new or changed since the previous checkpoint."""

    @property
    def finished(self) -> bool:
        return bool(self.values) and not self.next

    @property
    def size(self) -> int:
        """Approximate bytes of this checkpoint (for the cost report)."""
        body = (self.values, self.record, self.delta, self.patch, self.blobs)
        return len(json.dumps(body, default=str))


def thread_config(instance_id: str, index: int) -> dict[str, Any]:
    """The LangGraph thread of trajectory `index` (as agent.runner names it)."""
    return {"configurable": {"thread_id": f"{instance_id}/{traj_id_for(index)}"}}


def _swap(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return new + value[len(old) :] if value.startswith(old) else value
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    return value


def _digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class Exporter:
    """Checkpoints of trajectory `index` of `instance_id` in `run_dir`, read through `graph` (the compiled
    trajectory graph over that run directory's saver)."""

    def __init__(self, run_dir: Path, instance_id: str, index: int, graph: Any) -> None:
        self.run_dir, self.instance_id, self.index, self.graph = Path(run_dir), instance_id, index, graph
        self.root = f"{self.run_dir}/"
        self.seq = 0
        self.last_id: str | None = None
        self.sent_blobs: dict[str, tuple[int, int]] = {}
        self.sent_lens: tuple[int, int] | None = None
        self.sent_rest: dict[str, str] = {}
        self.sent_patch: str | None = None

    def _blobs(self) -> dict[str, str]:
        out = {}
        base = blob_dir(self.run_dir, self.instance_id, self.index)
        for path in sorted(base.rglob("*")) if base.is_dir() else []:
            if not path.is_file():
                continue
            stat = path.stat()
            rel = path.relative_to(self.run_dir).as_posix()
            if self.sent_blobs.get(rel) != (stat.st_mtime_ns, stat.st_size):
                out[rel] = path.read_text()
                self.sent_blobs[rel] = (stat.st_mtime_ns, stat.st_size)
        return out

    def _record(self, cp: Checkpoint) -> None:
        path = trajectory_path(self.run_dir, self.instance_id, self.index)
        try:
            record = _swap(json.loads(path.read_text()), self.root, f"{TOKEN}/")
        except FileNotFoundError:
            return
        msgs, steps = record.get("messages", []), record.get("steps", [])
        rest = {k: v for k, v in record.items() if k not in ("messages", "steps")}
        digests = {k: _digest(v) for k, v in rest.items()}
        lens = self.sent_lens
        if lens is None or len(msgs) < lens[0] or len(steps) < lens[1]:
            cp.record = record
        else:
            s_from = max(0, lens[1] - 1)  # the last step sent may have got its observations since
            cp.delta = {
                "messages_from": lens[0],
                "messages": msgs[lens[0] :],
                "steps_from": s_from,
                "steps": steps[s_from:],
                "rest": {k: v for k, v in rest.items() if self.sent_rest.get(k) != digests[k]},
            }
        self.sent_lens, self.sent_rest = (len(msgs), len(steps)), digests
        patch_path = path.with_suffix(".patch")
        if patch_path.exists():
            patch = patch_path.read_text()
            if patch != self.sent_patch:
                cp.patch = self.sent_patch = patch

    def export(self, force: bool = False) -> Checkpoint | None:
        """The next checkpoint, or None when nothing was checkpointed since the last call (unless `force`)."""
        snap = self.graph.get_state(thread_config(self.instance_id, self.index))
        values = dict(snap.values or {})
        cid = snap.config.get("configurable", {}).get("checkpoint_id") if values else None
        if cid == self.last_id and not force:
            return None
        record_path = trajectory_path(self.run_dir, self.instance_id, self.index)
        if not values and not record_path.exists():
            return None
        self.last_id = cid
        self.seq += 1
        # the checkpoint's own tasks, not `snap.next`: while a node's writes are saved and the next checkpoint is
        # not yet, LangGraph leaves the task that already wrote out of `next`, so a running trajectory would read
        # as finished (next == ()) and, if the stream ended there (Ctrl-C), a rerun would skip it
        cp = Checkpoint(
            self.index,
            self.seq,
            _swap(values, self.root, f"{TOKEN}/") if values else None,
            tuple(t.name for t in snap.tasks) if values else (),
        )
        cp.blobs = self._blobs()  # before the record: a record never names a blob the driver lacks
        self._record(cp)
        return cp


def _as_node(cp: Checkpoint) -> str:
    """The node whose output `cp.values` is, so that LangGraph recomputes the same `next`."""
    if not cp.next:
        return "finish"
    if "act" in cp.next or "finish" in cp.next:
        return "query"  # query -> act while running, -> finish once a status is set
    return "act"  # act -> query (also the state before the first query)


class Importer:
    """Writes checkpoints of one instance's trajectories into `run_dir` (whose saver `graph` uses)."""

    def __init__(self, run_dir: Path, instance_id: str, graph: Any) -> None:
        self.run_dir, self.instance_id, self.graph = Path(run_dir), instance_id, graph
        self.records: dict[int, dict[str, Any]] = {}
        self.bytes = 0

    def apply(self, cp: Checkpoint) -> None:
        root = str(self.run_dir)
        self.bytes += cp.size
        for rel, text in cp.blobs.items():
            write_atomic(self.run_dir / rel, text)
        path = trajectory_path(self.run_dir, self.instance_id, cp.index)
        if cp.record is not None:
            self.records[cp.index] = _swap(cp.record, f"{TOKEN}/", f"{root}/")
        elif cp.delta is not None:
            rec = self.records.get(cp.index)
            if rec is None:
                rec = json.loads(path.read_text())
            d = _swap(cp.delta, f"{TOKEN}/", f"{root}/")
            rec["messages"] = rec.get("messages", [])[: d["messages_from"]] + d["messages"]
            rec["steps"] = rec.get("steps", [])[: d["steps_from"]] + d["steps"]
            rec.update(d["rest"])
            self.records[cp.index] = rec
        if cp.index in self.records and (cp.record is not None or cp.delta is not None):
            # written as the trajectory's own writer writes it (a validated record, the same compact JSON)
            write_atomic(path, parse_trajectory(self.records[cp.index], str(path)).to_json())
        if cp.patch is not None:
            write_atomic(path.with_suffix(".patch"), cp.patch)
        if cp.values:
            values = _swap(cp.values, f"{TOKEN}/", f"{root}/")
            self.graph.update_state(thread_config(self.instance_id, cp.index), values, as_node=_as_node(cp))

    def finished(self, index: int) -> bool:
        """True when trajectory `index` is finished here: agent.runner's own test, so the driver never submits a
        trajectory the node would skip (a record written by `finish` whose checkpoint did not arrive)."""
        from patchjury.agent.runner import finished

        snap = self.graph.get_state(thread_config(self.instance_id, index))
        return finished(snap, trajectory_path(self.run_dir, self.instance_id, index))

"""What `patchjury swebench run` shows: a live progress view, and the cost/time summary (JSON + markdown)."""

from __future__ import annotations

import threading
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

SUM_KEYS = ("cost", "tokens", "container_minutes", "seconds", "image_seconds")


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Run-level sums and counts over per-instance results."""
    out: dict[str, Any] = {k: round(sum(float(r.get(k) or 0) for r in results), 4) for k in SUM_KEYS}
    out["tokens"] = int(out["tokens"])
    out["instances"] = len(results)
    out["done"] = sum(1 for r in results if r.get("status") == "done")
    out["errors"] = sum(1 for r in results if r.get("status") == "error")
    out["with_patch"] = sum(1 for r in results if (r.get("model_patch") or "").strip())
    out["own_test_pass"] = sum(1 for r in results if r.get("own_test") == "pass")
    graded = [r for r in results if "eval" in r]
    if graded:
        out["resolved"] = sum(1 for r in graded if r["eval"] == "resolved")
        out["graded"] = len(graded)
    return out


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: dict[str, Any]) -> str:
    """Per-instance and total cost/time table."""
    t = summary["totals"]
    lines = [
        "# patchjury swebench run",
        "",
        f"{t['done']}/{t['instances']} instances done ({t['errors']} errors, {summary.get('skipped_existing', 0)} "
        f"reused from an earlier run); {t['with_patch']} with a patch, {t['own_test_pass']} whose chosen patch "
        "passes its own reproduction test"
        + (f"; **resolved {t['resolved']}/{t['graded']}** graded" if "resolved" in t else "")
        + ".",
        "",
        f"Total: ${t['cost']:.4f}, {t['tokens']:,} tokens, {t['container_minutes']:.1f} container-minutes, "
        f"{t['seconds']:.0f} s of instance time ({summary.get('wall_seconds', 0):.0f} s wall).",
        "",
        "| instance | status | winner | own test | eval | cost ($) | tokens | container-min | image s | total s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["instances"]:
        status = r.get("status", "?")
        if status == "error":
            status = f"error ({_cell(r.get('stage', ''))}: {_cell(str(r.get('error', ''))[:80])})"
        lines.append(
            f"| {r['instance_id']} | {status} | {r.get('winner') or '-'} | {r.get('own_test') or '-'} "
            f"| {r.get('eval', '-')} | {float(r.get('cost') or 0):.4f} | {int(r.get('tokens') or 0):,} "
            f"| {float(r.get('container_minutes') or 0):.2f} | {float(r.get('image_seconds') or 0):.0f} "
            f"| {float(r.get('seconds') or 0):.0f} |"
        )
    lines.append(
        f"| **total** | {t['done']} done | | {t['own_test_pass']} pass | {t.get('resolved', '-')} "
        f"| {t['cost']:.4f} | {t['tokens']:,} | {t['container_minutes']:.2f} | {t['image_seconds']:.0f} "
        f"| {t['seconds']:.0f} |"
    )
    return "\n".join(lines) + "\n"


class RunProgress:
    """Overall bar (instances, cost, resolved-so-far) plus one line per running instance (trajectories)."""

    def __init__(self, total: int, skipped: int, n_traj: int, grading: bool, enabled: bool) -> None:
        self.n_traj = n_traj
        self.grading = grading
        self.progress = Progress(
            TextColumn("{task.fields[label]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            disable=not enabled,
        )
        self._lock = threading.Lock()
        self._rows: dict[str, TaskID] = {}
        self._costs: dict[str, dict[int, float]] = {}
        self.cost = 0.0
        self.resolved = 0
        self.graded = 0
        self.errors = 0
        self.overall = self.progress.add_task("", total=total, completed=skipped, label="[bold]instances")
        self._refresh()

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def _refresh(self) -> None:
        text = f"${self.cost:.4f}"
        if self.errors:
            text += f", {self.errors} errors"
        if self.grading:
            text += f", resolved {self.resolved}/{self.graded}"
        self.progress.update(self.overall, description=text)

    def started(self, instance_id: str) -> None:
        with self._lock:
            self._rows[instance_id] = self.progress.add_task(
                "image / starting", total=self.n_traj, label=f"  {instance_id[:40]}"
            )
            self._costs[instance_id] = {}

    def on_event(self, event: Any) -> None:
        """agent.events.Event callback (any thread)."""
        with self._lock:
            row = self._rows.get(event.instance_id)
            if row is None:
                return
            if event.index >= 0:
                self._costs[event.instance_id][event.index] = max(
                    event.cost, self._costs[event.instance_id].get(event.index, 0.0)
                )
            cost = sum(self._costs[event.instance_id].values())
            if event.kind in ("end", "skip"):
                self.progress.advance(row)
            self.progress.update(row, description=f"trajectories, ${cost:.4f}")

    def finished(self, result: dict[str, Any]) -> None:
        with self._lock:
            row = self._rows.pop(result["instance_id"], None)
            if row is not None:
                self.progress.remove_task(row)
            self.cost += float(result.get("cost") or 0)
            self.errors += result.get("status") == "error"
            if "eval" in result:
                self.graded += 1
                self.resolved += result["eval"] == "resolved"
            self.progress.advance(self.overall)
            self._refresh()
            status = result.get("status")
            detail = result.get("eval") or result.get("own_test") or result.get("error", "")
            self.progress.console.print(f"{result['instance_id']}: {status} ({str(detail)[:100]})")

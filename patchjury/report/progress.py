"""What `patchjury swebench run` shows while it runs: one overall bar and one line per running instance."""

from __future__ import annotations

import threading
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from patchjury.report.console import make_console
from patchjury.report.swebench import InstanceResult


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
            console=make_console(),
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

    def finished(self, result: InstanceResult) -> None:
        with self._lock:
            row = self._rows.pop(result.instance_id, None)
            if row is not None:
                self.progress.remove_task(row)
            self.cost += result.cost
            self.errors += result.status == "error"
            if result.eval is not None:
                self.graded += 1
                self.resolved += result.eval == "resolved"
            self.progress.advance(self.overall)
            self._refresh()
            detail = (result.eval or result.own_test or result.error or "").strip()
            first = detail.splitlines()[0] if detail else ""  # the whole line: never cut mid-word
            self.progress.console.print(
                f"{result.instance_id}: {result.status} ({first})", markup=False, highlight=False
            )


class StepPrinter:
    """`patchjury solve --verbose`: every step of every trajectory as it happens (its thought, tool calls and
    abridged observations), the way SWE-agent prints a run."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self._lock = threading.Lock()

    def on_event(self, event: Any) -> None:
        """agent.events.Event callback (any thread); model text is printed as text, never as markup."""
        from rich.text import Text

        name = f"t{event.index:03d}"
        with self._lock:
            if event.kind in ("start", "resume"):
                self.console.print(Text(f"{name} {event.kind}s ({event.model})", style="bold"))
            elif event.kind == "step":
                self.console.print(Text(f"{name} step {event.step}  ${event.cost:.4f}", style="bold cyan"))
                if event.thought:
                    self.console.print(Text(f"  {event.thought}", style="italic"))
                for k, call in enumerate(event.calls):
                    self.console.print(Text(f"  -> {call}", style="yellow"))
                    if k < len(event.observations):
                        self.console.print(
                            Text("  <- " + event.observations[k].replace("\n", "\n     "), style="dim")
                        )
                if not event.calls and event.observations:
                    self.console.print(Text(f"  <- {event.observations[0]}", style="red"))
            elif event.kind in ("end", "skip"):
                detail = f": {event.detail.splitlines()[0][:200]}" if event.detail else ""
                style = "green" if event.status == "submitted" else "yellow"
                self.console.print(
                    Text(
                        f"{name} {event.status} after {event.step} steps, ${event.cost:.4f}{detail}",
                        style=style,
                    )
                )

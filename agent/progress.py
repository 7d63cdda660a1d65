"""A rich live table of the trajectories of a run (step, cost, status, last action)."""

from __future__ import annotations

import threading
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from patchjury.agent.events import Event, EventCallback

_STYLE = {"submitted": "green", "running": "cyan", "skipped": "dim"}


class LiveProgress:
    """Collects events into a table redrawn a few times per second on stderr."""

    def __init__(self, instance_id: str, n: int, forward: EventCallback | None = None) -> None:
        self.instance_id = instance_id
        self.rows: dict[int, Event] = {}
        self.n = n
        self.forward = forward
        self.lock = threading.Lock()
        self.t0 = time.time()
        self.live = Live(self._table(), console=Console(stderr=True), refresh_per_second=4, transient=False)

    def on_event(self, event: Event) -> None:
        if event.index >= 0:
            with self.lock:
                if event.kind == "skip":
                    event.detail = "finished earlier (skipped)"
                self.rows[event.index] = event
            self.live.update(self._table())
        if self.forward is not None:
            self.forward(event)

    def _table(self) -> Table:
        done = sum(1 for e in self.rows.values() if e.kind in ("end", "skip"))
        table = Table(
            title=f"{self.instance_id}: {done}/{self.n} trajectories done, {time.time() - self.t0:.0f}s"
        )
        for col in ("traj", "model", "step", "cost $", "status", "last"):
            table.add_column(col)
        with self.lock:
            for index in sorted(self.rows):
                e = self.rows[index]
                style = _STYLE.get(e.status, "red" if e.kind == "end" else "")
                table.add_row(
                    f"t{index:03d}",
                    e.model,
                    str(e.step),
                    f"{e.cost:.3f}",
                    f"[{style}]{e.status}[/]" if style else e.status,
                    e.detail[:60],
                )
        return table

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.update(self._table())
        self.live.stop()

"""Streaming API: iterate over the events of a run as they happen.

for event in iter_events(task, env_factory, run_dir, config, models):
    print(event.kind, event.index, event.step, event.status)
    if event.kind == "done":
        candidates = event.candidates
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from patchjury.agent.events import Event


def iter_events(*args: Any, **kwargs: Any) -> Iterator[Event]:
    """Run `patchjury.agent.runner.run_trajectories(*args, **kwargs)` in a thread and yield its events.

    The last event is `done` (with the candidates). An exception of the run is re-raised here.
    """
    from patchjury.agent.runner import run_trajectories

    events: queue.Queue[Event | BaseException | None] = queue.Queue()
    forward = kwargs.pop("on_event", None)

    def put(event: Event) -> None:
        if forward is not None:
            forward(event)
        events.put(event)

    def work() -> None:
        try:
            run_trajectories(*args, on_event=put, **{"progress": False, **kwargs})
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread and re-raised there
            events.put(exc)
        finally:
            events.put(None)

    thread = threading.Thread(target=work, name="patchjury-run", daemon=True)
    thread.start()
    while True:
        item = events.get()
        if item is None:
            break
        if isinstance(item, BaseException):
            thread.join()
            raise item
        yield item
    thread.join()

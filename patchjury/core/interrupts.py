"""Ctrl-C and SIGTERM during a run, as a user expects them.

First Ctrl-C while trajectories run: nothing new starts, running trajectories stop before their next model
query (their checkpoints are the resume point), and the run goes on only to judge what already finished.
Second Ctrl-C (or the first one after the trajectories): stop now - commands killed, containers and checkouts
removed - with the command that resumes the run. SIGTERM: stop now as well (envs.cleanup), same message.
Exit codes: 130 after Ctrl-C, 143 after SIGTERM.
"""

from __future__ import annotations

import shlex
import signal
import threading
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Any

from rich.console import Console

from patchjury.envs import cleanup

EXIT_INTERRUPTED = 130
"""Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it."""


def resume_command(argv: Sequence[str], run_id: str) -> str:
    """The command line that resumes run `run_id`: the same arguments, `--run-id` set, `--new-run` dropped."""
    args, skip = [], False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a == "--run-id":
            skip = True
            continue
        if a.startswith("--run-id=") or a == "--new-run":
            continue
        args.append(a)
    return shlex.join(["patchjury", *args, "--run-id", run_id])


class RunInterrupts:
    """`with RunInterrupts(console, resume) as intr:` - `intr.stop` is set by the first Ctrl-C while
    `intr.phase == "trajectories"`; call `intr.judging()` when the jury starts (Ctrl-C then stops at once)."""

    def __init__(self, console: Console, resume: str) -> None:
        self.console = console
        self.resume = resume
        self.stop = threading.Event()
        self.phase = "trajectories"
        self._old: Any = None

    def judging(self) -> None:
        self.phase = "jury"

    def _say_resume(self) -> None:
        self.console.print(f"resume with: {self.resume}", markup=False, highlight=False, soft_wrap=True)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.phase == "trajectories" and not self.stop.is_set():
            self.stop.set()
            self.console.print(
                "\n[yellow]stopping:[/] no new trajectories start; running ones stop after their current step "
                "(their checkpoints are kept). Ctrl-C again to stop now."
            )
            return
        self.console.print("\n[red]stopping now[/]: running commands killed, sandboxes removed.")
        cleanup.terminate_now(EXIT_INTERRUPTED)

    def __enter__(self) -> RunInterrupts:
        cleanup.on_terminate(self._say_resume)
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
            cleanup.install_handlers()  # SIGTERM: stop now, with the resume line
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        cleanup.remove_on_terminate(self._say_resume)
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None

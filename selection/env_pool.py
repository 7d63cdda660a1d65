"""EnvPool: the environments the jury's tests run in (selection.execution's pass matrix, selection.regression's
runs), made on demand up to a size, leased one per worker, replaced when a test leaves one unusable, closed
together.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from patchjury.envs.errors import EnvError
from patchjury.envs.protocol import Env, EnvFactory
from patchjury.selection.errors import ExecutionError


class EnvPool:
    """Up to `size` Envs made on demand by `factory`, leased one per worker; `close()` releases all."""

    def __init__(self, factory: EnvFactory, size: int) -> None:
        self.factory = factory
        self.size = max(1, size)
        self._free: queue.Queue[Env] = queue.Queue()
        self._all: list[Env] = []
        self._leased: dict[int, list[Env]] = {}
        self._lock = threading.Lock()

    def _make(self) -> Env:
        try:
            return self.factory()
        except EnvError as exc:
            raise ExecutionError(
                f"could not start an environment for running tests: {exc} "
                "(fix the environment, or run selection with --no-exec)"
            ) from exc

    @contextmanager
    def lease(self) -> Iterator[Env]:
        env: Env | None = None
        with self._lock:
            if self._free.empty() and len(self._all) < self.size:
                env = self._make()
                self._all.append(env)
        if env is None:
            env = self._free.get()
        holder = [env]
        self._leased[id(env)] = holder
        try:
            yield env
        finally:
            self._leased.pop(id(env), None)
            self._free.put(holder[0])

    def renew(self, env: Env) -> Env:
        """Close a leased `env` that a test left unusable and start a fresh one in its place (returned to the pool
        when the lease ends)."""
        fresh = self._make()
        with self._lock:
            self._all = [fresh if e is env else e for e in self._all]
            holder = self._leased.pop(id(env), None)
            if holder is not None:
                holder[0] = fresh
                self._leased[id(fresh)] = holder
        try:
            env.close()
        except EnvError:
            pass  # it is broken already; the fresh one replaces it
        return fresh

    def close(self) -> None:
        for env in self._all:
            env.close()
        self._all.clear()

    def __enter__(self) -> EnvPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

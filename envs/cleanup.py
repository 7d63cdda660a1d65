"""What envs leave outside the run directory (containers, temporary checkouts) is removed at exit, on SIGTERM
once the program's entry point calls `install_handlers()` from its main thread (the `patchjury` command does, before
any worker thread starts an Env; a library never changes a process's signal handling by itself), and, after a
crash (SIGKILL, power loss), by the next process that finds it with its owner gone.

Owners: every container and temporary directory records `<host key>:<pid>:<start time>` of the process that
made it. The host key names the place where that pid means something: this kernel boot, this pid namespace, this
machine and this user's install (a random id in the user's state directory). A leftover is only removed when its
host key is ours and its process is gone; anything made elsewhere (another machine or container sharing the Docker
engine, another user) is left alone, whatever its pid or hostname (hostnames repeat across cloned machines).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

OWNER_FILE = ".patchjury-owner"
"""Name of the file holding the owner id inside every temporary directory envs make."""

_live: dict[str, Callable[[], None]] = {}
_live_lock = threading.Lock()
_atexit_registered = False
_host_key: str | None = None
_swept: set[tuple[str, str]] = set()
_owned_dirs: set[Path] = set()
"""Temporary directories this process made and has not removed yet (terminate_now removes what is left)."""


def state_dir() -> Path:
    """The user's patchjury state directory ($XDG_STATE_HOME/patchjury, default ~/.local/state/patchjury)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "patchjury"


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _install_id() -> str:
    """A random id made once per user install (so two machines cloned from one image still differ)."""
    path = state_dir() / "install-id"
    known = _read(str(path))
    if known:
        return known
    new = secrets.token_hex(16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".install-id.{os.getpid()}")
        tmp.write_text(new + "\n")
        os.link(tmp, path)  # first writer wins; a concurrent process reads the winner's id
        tmp.unlink()
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        return _read(str(path)) or new
    except OSError as exc:  # read-only home: still unique per process tree, just not shared across runs
        log.warning("cannot store patchjury's install id in %s (%s)", path, exc)
    return new


def host_key() -> str:
    """16 hex digits naming where this process's pids can be checked (see the module docstring)."""
    global _host_key
    if _host_key is None:
        try:
            pidns = os.readlink("/proc/self/ns/pid")
        except OSError:
            pidns = ""
        parts = [
            _read("/proc/sys/kernel/random/boot_id"),
            pidns,
            _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id"),
            _install_id(),
        ]
        _host_key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return _host_key


def _proc_start(pid: int) -> str:
    """Start time of `pid` in clock ticks since boot ('' if unknown): tells a live owner from a reused pid."""
    stat = _read(f"/proc/{pid}/stat")
    return stat.rsplit(")", 1)[1].split()[19] if ")" in stat else ""


def owner_id() -> str:
    """`<host key>:<pid>:<start time>` of this process."""
    return f"{host_key()}:{os.getpid()}:{_proc_start(os.getpid())}"


def owner_dead(owner: str) -> bool:
    """True only when `owner` was made under our host key and its process is gone (or its pid was reused).
    Owners of other hosts, of older formats (hostname:pid) and unreadable ones are never dead."""
    key, _, rest = owner.partition(":")
    pid_s, _, start = rest.partition(":")
    if key != host_key() or not pid_s.isdigit():
        return False
    pid = int(pid_s)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's process
    return bool(start) and _proc_start(pid) != start


def register(key: str, remove: Callable[[], None]) -> None:
    """Track something to remove if the process exits before it is released (exit, SIGTERM)."""
    with _live_lock:
        _live[key] = remove
    _register_atexit()


def unregister(key: str) -> None:
    with _live_lock:
        _live.pop(key, None)


def live_keys() -> set[str]:
    with _live_lock:
        return set(_live)


def cleanup_all() -> int:
    """Remove everything this process registered and has not released; returns how many."""
    with _live_lock:
        items = list(_live.items())
        _live.clear()
    for key, remove in items:
        try:
            remove()
        except Exception as exc:  # noqa: BLE001 - at exit: report and go on, the next sweep catches it
            print(f"patchjury: could not remove {key}: {exc}", file=sys.stderr, flush=True)
    return len(items)


_on_terminate: list[Callable[[], None]] = []


def on_terminate(callback: Callable[[], None]) -> None:
    """Run `callback` (e.g. print how to resume) when SIGTERM ends the process, after the cleanup."""
    _on_terminate.append(callback)


def remove_on_terminate(callback: Callable[[], None]) -> None:
    if callback in _on_terminate:
        _on_terminate.remove(callback)


def terminate_now(code: int) -> None:
    """Kill running commands, remove containers and temporary checkouts, then end the process with `code`
    at once (other threads are not waited for: what they had checkpointed is what a rerun resumes)."""
    cleanup_all()
    _remove_owned_dirs()
    for callback in list(_on_terminate):
        try:
            callback()
        except Exception as exc:  # noqa: BLE001 - a message must not stop the exit
            print(f"patchjury: {exc}", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    terminate_now(128 + signum)


def _register_atexit() -> None:
    """A normal exit (and Ctrl-C, which unwinds to it) removes what is still registered; once per process."""
    global _atexit_registered
    with _live_lock:
        if _atexit_registered:
            return
        _atexit_registered = True
    atexit.register(cleanup_all)


def install_handlers() -> bool:
    """Remove what this process registered on SIGTERM too, then exit 143 (see `terminate_now`).

    Call it from the main thread before work starts, as the `patchjury` command does: a handler cannot be
    installed from the worker threads that start most Envs, and a library must not take over a program's signal
    handling behind its back. Returns whether SIGTERM is handled now: False from another thread, or when the
    program already handles SIGTERM itself (its handler is kept). Calling it again changes nothing."""
    _register_atexit()
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGTERM)
    if current is _on_sigterm:
        return True
    if current not in (signal.SIG_DFL, None):
        return False
    signal.signal(signal.SIGTERM, _on_sigterm)
    return True


# -- temporary directories ----------------------------------------------------------------------------------


def owned_tempdir(prefix: str, parent: str | Path | None = None) -> Path:
    """A new temporary directory holding this process's owner id; first, once per (parent, prefix) and
    process, directories of the same prefix whose owner is dead are removed (see `sweep_tempdirs`)."""
    root = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    if (str(root), prefix) not in _swept:
        _swept.add((str(root), prefix))
        sweep_tempdirs(prefix, root)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root)).resolve()
    with _live_lock:
        _owned_dirs.add(path)
    (path / OWNER_FILE).write_text(owner_id() + "\n")
    return path


def remove_tempdir(path: Path) -> None:
    """Remove a directory made by `owned_tempdir` (whatever is inside) and stop tracking it."""
    shutil.rmtree(path, ignore_errors=True)
    with _live_lock:
        _owned_dirs.discard(path)


def _remove_owned_dirs(patience_s: float = 2.0) -> None:
    """At termination, after the registered cleanups: remove this process's temporary directories again until
    they stay gone. A worker thread caught mid-setup (between mkdtemp and register, or writing into a checkout
    while it was removed) can leave or recreate one; it cannot outlast a few passes, and os._exit follows."""
    deadline = time.monotonic() + patience_s
    while True:
        with _live_lock:
            left = [p for p in _owned_dirs if p.exists()]
        for path in left:
            shutil.rmtree(path, ignore_errors=True)
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def sweep_tempdirs(prefix: str, parent: str | Path) -> list[Path]:
    """Remove `<parent>/<prefix>*` directories left by dead processes of this host; returns them."""
    removed = []
    try:
        candidates = [p for p in Path(parent).iterdir() if p.name.startswith(prefix) and p.is_dir()]
    except OSError:
        return []
    for path in candidates:
        owner = _read(str(path / OWNER_FILE))
        if owner and owner_dead(owner):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed

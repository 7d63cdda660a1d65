"""One SQLite checkpoint database per run (WAL mode, busy timeout), shared by all trajectories."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver

DB_NAME = "checkpoints.sqlite"


def open_saver(run_dir: str | Path) -> SqliteSaver:
    """A SqliteSaver over <run_dir>/checkpoints.sqlite; close with `close_saver`."""
    path = Path(run_dir) / DB_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    saver = SqliteSaver(conn)
    saver.setup()
    return saver


def close_saver(saver: SqliteSaver) -> None:
    saver.conn.close()

"""Tool state kept INSIDE the Env (so it survives process restarts and works in containers).

Layout under `<config.state_dir>/<sha1(workdir)[:12]>/`: `undo/<sha1(path)[:16]>.json` (earlier versions of
edited files) and `tests.json` (the reproduction-test manifest, see tools.repro).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from typing import Any

from patchjury.envs.protocol import Env
from patchjury.tools.base import q
from patchjury.tools.config import ToolsConfig
from patchjury.tools.errors import ToolStateError


def state_dir(env: Env, config: ToolsConfig | None = None) -> str:
    """Directory inside the Env holding tool state for this checkout (keyed by its workdir)."""
    root = (config or ToolsConfig()).state_dir.rstrip("/")
    key = hashlib.sha1(posixpath.normpath(env.workdir).encode()).hexdigest()[:12]
    return f"{root}/{key}"


def read_json(env: Env, path: str) -> Any | None:
    """Parsed JSON file inside the Env, or None when it does not exist."""
    try:
        text = env.read_file(path)
    except OSError:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolStateError(
            f"tool state file {path} inside the Env is corrupt ({exc}); delete it to start afresh"
        ) from exc


def write_json(env: Env, path: str, data: Any) -> None:
    env.write_file(path, json.dumps(data, indent=1, sort_keys=True))


def clear_state(env: Env, config: ToolsConfig | None = None) -> None:
    """Delete this checkout's tool state (undo history, test manifest). Call before closing a local Env."""
    env.execute(f"rm -rf {q(state_dir(env, config))}", timeout=60)

"""Workspace blobs of a trajectory: diff snapshots (for resuming in a fresh Env) and submissions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from patchjury.agent.errors import ResumeError
from patchjury.envs.protocol import Env
from patchjury.envs.secrets import redact
from patchjury.tools.toolset import Toolset


def save_submission(blobs: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Store the submitted patch and tests in a blob file; the state keeps only its path."""
    path = blobs / "submitted.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps({"patch": data.get("patch", ""), "tests": data.get("tests", [])})))
    return {"path": str(path)}


def load_submission(ref: dict[str, Any]) -> dict[str, Any]:
    return json.loads(Path(ref["path"]).read_text())


def snapshot(env: Env, toolset: Toolset, blobs: Path, step: int, previous: str) -> str:
    """Store the workspace (diff with new files + the tools' state, e.g. the reproduction-test manifest) when it
    changed; return the blob path kept in state ('' = clean checkout)."""
    diff = env.diff()
    state = toolset.state(env)
    if not diff.strip() and not toolset.has_state(state):
        return ""
    text = redact(json.dumps({"diff": diff, "manifest": state}, sort_keys=True))
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    if previous and previous.endswith(f"-{digest}.json"):
        return previous
    path = blobs / f"step-{step:03d}-{digest}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def restore(env: Env, toolset: Toolset, ref: str, tag: str) -> None:
    """Re-apply a workspace snapshot in a fresh Env (resume after a crash)."""
    if not ref:
        return
    blob = json.loads(Path(ref).read_text())
    if blob["diff"].strip():
        tmp = f"/tmp/patchjury-resume-{tag}.diff"
        env.write_file(tmp, blob["diff"])
        result = env.execute(f"git apply --whitespace=nowarn {tmp} && rm -f {tmp}")
        if result.exit_code != 0:
            raise ResumeError(
                f"cannot restore the workspace snapshot {ref} on resume: {result.output[-500:]}"
            )
    toolset.restore(env, blob["manifest"])

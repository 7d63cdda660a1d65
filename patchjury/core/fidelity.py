"""Fidelity against a recorded run: replay its commands here, compare return codes and the final diff, and
compare our grading of a patch with the official per-test report.

    replay_instance(inst, "runs.jsonl.gz#<id>", image, out)   -> replay.json beside the trajectory record
    compare_grading(official_report, our_report)              -> resolved / per-test agreement

The replayed trajectory is an ordinary patchjury trajectory record (`patchjury show` renders it); every
`run` observation holds our exit code and the assistant message before it names the recorded one. Beside it,
candidate.json is a patchjury Candidate (our replayed patch, the scripts the recorded agent wrote as its tests,
the trajectory path) for the jury and `patchjury select`.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from patchjury.agent.models.recorded_bash import RecordedRun, load_recorded
from patchjury.envs.base import GIT_TIMEOUT
from patchjury.envs.config import EnvConfig
from patchjury.envs.images import SETUP_COMMIT_MESSAGE
from patchjury.envs.protocol import Env
from patchjury.records import Task, TestFile
from patchjury.trajectory_record import TrajectoryRecord, load_trajectory

REPLAY = "replay.json"
CANDIDATE = "candidate.json"
_INDEX = re.compile(r"^index [0-9a-f]+\.\.[0-9a-f]+( \d+)?$")
_HUNK = re.compile(r"^@@ -\d+(,\d+)? \+\d+(,\d+)? @@.*$")
_BINARY = re.compile(r"^Binary files .* differ$")


def normalize_diff(patch: str | None) -> str:
    """A diff with what does not change the result removed: `index` lines, hunk line numbers and section
    text, trailing whitespace at line ends and at the end; file sections sorted by path. A binary file's body
    (`git diff --binary`'s literal patch, or plain `git diff`'s "Binary files ... differ") becomes one marker:
    mini-swe-agent submits the second form, our submit the first."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    binary = False
    for line in (patch or "").splitlines():
        if line.startswith("diff --git "):
            current, binary = sections.setdefault(line, []), False
            continue
        if current is None or binary or _INDEX.match(line):
            continue
        if line == "GIT binary patch" or _BINARY.match(line):
            current.append("<binary>")
            binary = True
            continue
        current.append("@@" if _HUNK.match(line) else line.rstrip())
    return "\n".join(f"{head}\n" + "\n".join(body).strip() for head, body in sorted(sections.items())).strip()


def _file_hunks(patch: str | None) -> list[tuple[str, list[str], list[list[str]]]]:
    """A diff as (file header line, the section's other header lines, hunks); a hunk is its lines from `@@` on."""
    out: list[tuple[str, list[str], list[list[str]]]] = []
    for line in (patch or "").splitlines():
        if line.startswith("diff --git "):
            out.append((line, [], []))
        elif not out:
            continue
        elif line.startswith("@@"):
            out[-1][2].append([line])
        elif out[-1][2]:
            out[-1][2][-1].append(line)
        else:
            out[-1][1].append(line)
    return out


def drop_setup_hunks(submission: str | None, setup: str | None) -> tuple[str, int]:
    """`submission` without the hunks that equal a hunk of `setup` (the environment image's own setup commit)
    in the same file: the official images leave their setup edits (sphinx's tox.ini `pytest -rA`, setup.py
    pins; astropy's pyproject.toml pin) uncommitted, so a submission made with `git add -A && git diff --cached`
    carries them, while our images commit the same edits. A hunk matches only exactly (every line after its
    `@@` header); a file left without hunks is dropped whole. Returns (the diff, hunks dropped). For comparing
    diffs only: hunk headers after a dropped hunk keep their old line numbers."""
    known: set[tuple[str, tuple[str, ...]]] = {
        (head, tuple(h[1:])) for head, _, hunks in _file_hunks(setup) for h in hunks
    }
    if not known:
        return submission or "", 0
    dropped = 0
    parts: list[str] = []
    for head, header, hunks in _file_hunks(submission):
        kept = [h for h in hunks if (head, tuple(h[1:])) not in known]
        dropped += len(hunks) - len(kept)
        if hunks and not kept:
            continue
        parts.append("\n".join([head, *header, *(line for h in kept for line in h)]))
    return ("\n".join(parts) + "\n" if parts else ""), dropped


def setup_commit_diff(env: Env) -> str:
    """The diff of the setup commit at HEAD of `env`'s work tree (`git diff HEAD~1 HEAD` when HEAD's subject
    is envs.images.SETUP_COMMIT_MESSAGE: what the image's setup changed in tracked files), else ""."""
    head = env.execute("git log -1 --format=%s HEAD", timeout=60)
    if not head.ok or head.output.strip() != SETUP_COMMIT_MESSAGE:
        return ""
    # through a file (command output may be truncated), named per call and removed after: with the local
    # backend /tmp is the host's, shared with other runs
    tmp = f"/tmp/pj-setup-commit-{uuid.uuid4().hex}.diff"
    try:
        res = env.execute(f"git diff --no-color --no-ext-diff HEAD~1 HEAD > {tmp}", timeout=GIT_TIMEOUT)
        return env.read_file(tmp) if res.ok else ""
    finally:
        env.execute(f"rm -f {tmp}", timeout=60)


def run_observations(record: TrajectoryRecord) -> list[dict[str, Any]]:
    """The `run` observations of a trajectory record, in order ({exit_code, timed_out, text})."""
    out = []
    for step in record.steps:
        for obs in step.observations:
            if obs.name == "run":
                out.append(
                    {
                        "exit_code": obs.data.get("exit_code"),
                        "timed_out": bool(obs.data.get("timed_out")),
                        "text": obs.text,
                        "error": obs.error,
                    }
                )
    return out


def compare_commands(recorded: RecordedRun, record: TrajectoryRecord) -> list[dict[str, Any]]:
    """One row per recorded command: its recorded and our return code, and whether they agree.

    `comparable` is False for commands with nothing recorded (mini-swe-agent's submit command) and for
    commands our run never reached; a recorded timeout agrees with a timeout here."""
    ours = run_observations(record)
    rows = []
    for k, cmd in enumerate(recorded.commands):
        mine = ours[k] if k < len(ours) else None
        row: dict[str, Any] = {
            "k": k,
            "command": cmd.command[:300],
            "recorded_rc": cmd.returncode,
            "recorded_timed_out": cmd.timed_out,
            "rc": None if mine is None or mine["error"] else mine["exit_code"],
            "timed_out": bool(mine and mine["timed_out"]),
            "reached": mine is not None,
        }
        row["comparable"] = mine is not None and (cmd.returncode is not None or cmd.timed_out)
        if cmd.timed_out:
            row["same"] = row["timed_out"]
        else:
            row["same"] = not row["timed_out"] and row["rc"] == cmd.returncode
        rows.append(row)
    return rows


def summarize_replay(
    rows: list[dict[str, Any]], record: TrajectoryRecord, submission: str | None, setup_diff: str = ""
) -> dict[str, Any]:
    """Counts of `rows` and the diff verdicts: `diff_identical` (normalized), `diff_identical_setup_dropped`
    (the same after dropping from the submission the hunks of the image's setup commit, `setup_diff`)."""
    comparable = [r for r in rows if r["comparable"]]
    patch = record.patch
    trimmed, n_dropped = drop_setup_hunks(submission, setup_diff)
    return {
        "commands": len(rows),
        "reached": sum(1 for r in rows if r["reached"]),
        "comparable": len(comparable),
        "same_rc": sum(1 for r in comparable if r["same"]),
        "status": record.status,
        "error": record.error,
        "diff_identical": submission is not None and normalize_diff(patch) == normalize_diff(submission),
        "diff_exact": submission is not None and patch.strip() == submission.strip(),
        "diff_identical_setup_dropped": submission is not None
        and normalize_diff(patch) == normalize_diff(trimmed),
        "setup_hunks_dropped": n_dropped,
        "setup_diff": setup_diff,
        "patch_chars": len(patch),
        "submission_chars": len(submission or ""),
    }


def compare_grading(official: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """Resolved and per-test agreement of our report with the official one (reports as report.json holds
    them: resolved, tests_status.{FAIL_TO_PASS,PASS_TO_PASS}.{success,failure})."""
    tests: list[dict[str, Any]] = []
    for group in ("FAIL_TO_PASS", "PASS_TO_PASS"):
        off = (official.get("tests_status") or {}).get(group) or {}
        our = (ours.get("tests_status") or {}).get(group) or {}
        our_ok, our_bad = set(our.get("success", [])), set(our.get("failure", []))
        for verdict in ("success", "failure"):
            for name in off.get(verdict, []):
                mine = "success" if name in our_ok else "failure" if name in our_bad else "missing"
                tests.append({"group": group, "test": name, "official": verdict, "ours": mine})
    return {
        "official_resolved": bool(official.get("resolved")),
        "resolved": bool(ours.get("resolved")),
        "resolved_agree": bool(official.get("resolved")) == bool(ours.get("resolved")),
        "tests": len(tests),
        "tests_agree": sum(1 for t in tests if t["official"] == t["ours"]),
        "disagreements": [t for t in tests if t["official"] != t["ours"]],
    }


def gold_check(grading: dict[str, Any], gold: dict[str, Any]) -> dict[str, Any]:
    """Whether this machine's environment explains a candidate's disagreements: of the required tests where our
    grade of the candidate fails (or misses) a test the official report passed, how many fail here with the gold
    patch too (`explained`), and how many more tests the gold patch fails here (`gold_only`)."""
    gold_bad = {
        name
        for group in ("FAIL_TO_PASS", "PASS_TO_PASS")
        for name in ((gold.get("tests_status") or {}).get(group) or {}).get("failure", [])
    }
    ours_bad = {
        d["test"]
        for d in grading.get("disagreements", [])
        if d["official"] == "success" and d["ours"] != "success"
    }
    return {
        "gold_resolved": bool(gold.get("resolved")),
        "disagreeing": len(ours_bad),
        "explained": len(ours_bad & gold_bad),
        "gold_only": len(gold_bad - ours_bad),
    }


def replay_instance(
    task: Task, spec: str, env_config: EnvConfig, out: Path, *, run_timeout: float = 60.0
) -> dict[str, Any]:
    """Replay the recorded commands for `task` (from `spec`, FILE or FILE#ID) in a fresh Env of `env_config`
    (for SWE-bench: an envs.plan instance plan's config) through our agent loop; writes and returns OUT/replay.json.

    A trajectory in an unknown format, a command that never returns (killed after `run_timeout`) or a
    container failure is recorded in the result, never raised."""
    from patchjury.agent.config import AgentConfig, ModelConfig
    from patchjury.agent.errors import AgentError
    from patchjury.agent.runner import run_trajectories
    from patchjury.envs.errors import EnvError
    from patchjury.envs.registry import make_env
    from patchjury.tools.config import ToolsConfig

    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"instance_id": task.instance_id, "spec": spec}
    try:
        recorded = load_recorded(spec)
    except AgentError as exc:
        result.update(status="bad_input", error=str(exc))
        (out / REPLAY).write_text(json.dumps(result, indent=1) + "\n")
        return result
    agent = AgentConfig(
        n_trajectories=1,
        workers=1,
        step_limit=len(recorded.commands) + 2,
        cost_limit=0,
        time_limit_s=0,
        tools=ToolsConfig(names=["run", "submit"], run_timeout=run_timeout, run_max_timeout=run_timeout),
        autosubmit=True,
    )
    model = ModelConfig(type="replay-bash", replay_path=spec, name="replay-bash")
    try:  # what the image's setup committed (to compare with a submission that carries the same edits)
        env = make_env(env_config)
        try:
            setup_diff = setup_commit_diff(env)
        finally:
            env.close()
    except EnvError as exc:
        setup_diff = ""
        result["setup_diff_error"] = str(exc)
    cands = run_trajectories(
        task,
        lambda _i: make_env(env_config),
        out,
        agent,
        [model],
        progress=False,
    )
    record = load_trajectory(str(cands[0].trajectory))
    rows = compare_commands(recorded, record)
    result.update(summarize_replay(rows, record, recorded.submission, setup_diff))
    result.update(trajectory=str(cands[0].trajectory), patch=record.patch, rows=rows)
    (out / REPLAY).write_text(json.dumps(result, indent=1) + "\n")
    # What the jury reads: our replayed patch with the scripts the recorded agent wrote as its tests.
    cand = cands[0].model_copy(
        update={
            "candidate_id": "replay-bash",
            "tests": [TestFile(path=t["path"], content=t["content"]) for t in recorded.tests],
            "model_name_or_path": "replay-bash",
        }
    )
    (out / CANDIDATE).write_text(cand.model_dump_json(indent=1) + "\n")
    return result

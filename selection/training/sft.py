"""Export chat-format SFT data for a YES/NO judge from labeled candidates (with or without trajectories).

Each output line: {"messages": [system, user, {"role": "assistant", "content": "YES"|"NO"}], "label": "YES"|"NO",
"instance_id": ..., "candidate_id": ...}. The prompt is exactly what selection.verifier.judge sends at scoring
time, so a model fine-tuned on this file can be served (e.g. with vLLM) and used with `type: judge`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from patchjury.records import Candidate, Task
from patchjury.selection.errors import CandidateFormatError
from patchjury.selection.training.train import label_of
from patchjury.selection.verifier.config import VerifierConfig
from patchjury.selection.verifier.judge import judge_messages


def sft_record(task: Task, candidate: Candidate, config: VerifierConfig | None = None) -> dict[str, object]:
    """One training example: the judge prompt plus the YES/NO answer from the candidate's `resolved` label."""
    label = "YES" if label_of(candidate) else "NO"
    messages = [*judge_messages(task, candidate, config), {"role": "assistant", "content": label}]
    return {
        "messages": messages,
        "label": label,
        "instance_id": candidate.instance_id,
        "candidate_id": candidate.candidate_id,
    }


def export_sft(
    candidates: Iterable[Candidate],
    tasks: dict[str, Task],
    out: str | Path,
    config: VerifierConfig | None = None,
    skip_empty: bool = True,
) -> dict[str, int]:
    """Write one JSONL line per labeled candidate; returns counts (written, yes, no, skipped_empty)."""
    counts = {"written": 0, "yes": 0, "no": 0, "skipped_empty": 0}
    rows = []
    for cand in candidates:
        if cand.instance_id not in tasks:
            raise CandidateFormatError(
                f"instance {cand.instance_id} has no problem statement in the instances file; pass the right --instances"
            )
        if skip_empty and not cand.model_patch.strip():
            counts["skipped_empty"] += 1
            continue
        rec = sft_record(tasks[cand.instance_id], cand, config)
        counts["written"] += 1
        counts["yes" if rec["label"] == "YES" else "no"] += 1
        rows.append(json.dumps(rec, ensure_ascii=False))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + ("\n" if rows else ""))
    return counts

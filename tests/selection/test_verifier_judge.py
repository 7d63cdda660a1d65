"""LLM judge against the local fake OpenAI server returning logprobs; SFT records use the same prompt."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from patchjury.records import Candidate, Task
from patchjury.selection.errors import VerifierError
from patchjury.selection.protocol import Verifier
from patchjury.selection.training.sft import export_sft
from patchjury.selection.verifier.config import VerifierConfig, build_verifier
from patchjury.selection.verifier.judge import LLMJudge, judge_messages, p_yes
from tests.fakes.openai_server import FakeOpenAIServer

TASK = Task(instance_id="o__r-1", problem_statement="Dividing by zero in `ratio()` crashes the report.")
PATCH = "--- a/r.py\n+++ b/r.py\n@@ -1,2 +1,2 @@\n def ratio(a, b):\n-    return a / b\n+    return a / b if b else 0.0\n"
TRAJ = {
    "format": "patchjury-trajectory/1",
    "status": "submitted",
    "messages": [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "Fix the issue."},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "view", "arguments": '{"path": "r.py"}'}}
            ],
        },
        {"role": "tool", "content": "def ratio(a, b):\n    return a / b"},
    ],
    "steps": [{"step": 1}],
}


def _entry(yes: float, no: float, first: str = "YES") -> dict[str, object]:
    return {
        "content": first,
        "logprobs": [
            {
                "token": first,
                "logprob": max(yes, no),
                "top_logprobs": [{"token": "YES", "logprob": yes}, {"token": "NO", "logprob": no}],
            }
        ],
    }


def _judge(server: FakeOpenAIServer) -> LLMJudge:
    return LLMJudge(
        VerifierConfig(
            type="judge", judge_model="openai/judge-ft", api_base=server.base_url, num_retries=0, timeout_s=20
        )
    )


def test_score_is_p_yes_from_top_logprobs() -> None:
    cand = Candidate(instance_id=TASK.instance_id, model_patch=PATCH, trajectory=TRAJ)
    with FakeOpenAIServer([_entry(-0.1, -2.4)]) as server:
        judge = _judge(server)
        assert isinstance(judge, Verifier)
        score = judge.score(TASK, cand)
        body = server.requests[0]
    assert score == pytest.approx(math.exp(-0.1) / (math.exp(-0.1) + math.exp(-2.4)))
    assert body["model"] == "judge-ft" and body["logprobs"] is True and body["top_logprobs"] == 5
    assert body["max_tokens"] == 1 and body["temperature"] == 0
    user = body["messages"][1]["content"]
    assert TASK.problem_statement in user and "return a / b if b else 0.0" in user
    assert (
        "<call view>" in user and "You are an agent." not in user
    )  # trajectory steps, minus its system prompt
    assert "YES or NO" in body["messages"][0]["content"]


def test_whitespace_and_case_variants_and_one_sided_answers() -> None:
    resp = {
        "choices": [
            {
                "logprobs": {
                    "content": [
                        {
                            "token": "\n",
                            "logprob": -0.01,
                            "top_logprobs": [{"token": "\n", "logprob": -0.01}],
                        },
                        {
                            "token": " Yes",
                            "logprob": -0.5,
                            "top_logprobs": [
                                {"token": " Yes", "logprob": -0.5},
                                {"token": "YES", "logprob": -1.5},
                                {"token": "no", "logprob": -1.0},
                            ],
                        },
                    ]
                }
            }
        ]
    }
    ly = math.log(math.exp(-0.5) + math.exp(-1.5))
    assert p_yes(resp) == pytest.approx(math.exp(ly) / (math.exp(ly) + math.exp(-1.0)))
    only_no = {"choices": [{"logprobs": {"content": [{"token": "NO", "logprob": -0.2, "top_logprobs": []}]}}]}
    assert p_yes(only_no) == 0.0


def test_missing_logprobs_and_server_errors_are_clear() -> None:
    cand = Candidate(instance_id=TASK.instance_id, model_patch=PATCH)
    with FakeOpenAIServer([{"content": "YES"}]) as server, pytest.raises(VerifierError, match="no logprobs"):
        _judge(server).score(TASK, cand)
    with FakeOpenAIServer([{"status": 500, "error": "overloaded"}]) as server, pytest.raises(VerifierError):
        _judge(server).score(TASK, cand)
    with (
        FakeOpenAIServer([{"content": "maybe", "logprobs": [{"token": "maybe", "logprob": -0.1}]}]) as server,
        pytest.raises(VerifierError, match="neither YES nor NO"),
    ):
        _judge(server).score(TASK, cand)


def test_empty_patch_scores_zero_without_a_call_and_config_builds_judge() -> None:
    with FakeOpenAIServer([_entry(-0.1, -2.0)]) as server:
        judge = build_verifier(VerifierConfig(type="judge", api_base=server.base_url, num_retries=0))
        assert isinstance(judge, LLMJudge)
        assert judge.score(TASK, Candidate(instance_id=TASK.instance_id, model_patch="")) == 0.0
        assert server.requests == []


def test_prompt_keeps_last_steps_within_budget() -> None:
    steps = [{"role": "assistant", "content": f"step number {i} " + "x" * 200} for i in range(30)]
    cand = Candidate(instance_id=TASK.instance_id, model_patch=PATCH, trajectory={"messages": steps})
    msgs = judge_messages(TASK, cand, VerifierConfig(type="judge", max_steps=5))
    user = msgs[1]["content"]
    assert "step number 29" in user and "step number 24" not in user and 'omitted_first="25"' in user
    small = judge_messages(TASK, cand, VerifierConfig(type="judge", max_steps=30, max_chars=1500))[1][
        "content"
    ]
    assert len(small) <= 1500 and PATCH.strip() in small


def test_export_sft_format(tmp_path: Path) -> None:
    cands = [
        Candidate(
            instance_id=TASK.instance_id, model_patch=PATCH, trajectory=TRAJ, candidate_id="a", resolved=True
        ),
        Candidate(instance_id=TASK.instance_id, model_patch=PATCH + "\n", candidate_id="b", resolved=False),
        Candidate(instance_id=TASK.instance_id, model_patch="", candidate_id="c", resolved=False),
    ]
    out = tmp_path / "sft.jsonl"
    counts = export_sft(cands, {TASK.instance_id: TASK}, out)
    assert counts == {"written": 2, "yes": 1, "no": 1, "skipped_empty": 1}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in rows] == ["YES", "NO"] and [r["candidate_id"] for r in rows] == ["a", "b"]
    assert rows[0]["messages"][:2] == judge_messages(TASK, cands[0])
    assert rows[0]["messages"][2] == {"role": "assistant", "content": "YES"}


def test_trajectory_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t000.json"
    path.write_text(json.dumps(TRAJ))
    cand = Candidate(instance_id=TASK.instance_id, model_patch=PATCH, trajectory=str(path))
    user = judge_messages(TASK, cand)[1]["content"]
    assert "<call view>" in user and "Let me look." in user
    missing = Candidate(
        instance_id=TASK.instance_id, model_patch=PATCH, trajectory=str(tmp_path / "nope.json")
    )
    # an unreadable trajectory is an explained absence in the prompt, never a crash of the selection
    prompt = judge_messages(TASK, missing)[1]["content"]
    assert "<trajectory>(not available)</trajectory>" in prompt
    assert "no trajectory (cannot read trajectory" in prompt and "nope.json" in prompt


def test_judge_prompt_carries_the_trajectory_digest() -> None:
    """The judge reads the same digest as the verifier's features: script runs after the last edit, output
    changes, repository test runs, how the run ended."""
    swe = {
        "trajectory": [
            {"action": "create reproduce.py", "observation": "[File: /r/reproduce.py (1 lines total)]"},
            {
                "action": "edit 1:1\nprint(f(2))\nend_of_edit",
                "observation": "[File: /r/reproduce.py (1 lines total)]",
            },
            {
                "action": "python reproduce.py",
                "observation": "Traceback (most recent call last):\nValueError: x",
            },
            {"action": "open pkg/mod.py", "observation": "..."},
            {"action": "edit 3:3\n    return 2\nend_of_edit", "observation": "[File: /r/pkg/mod.py]"},
            {"action": "python reproduce.py", "observation": "4"},
            {"action": "pytest tests/test_mod.py", "observation": "3 passed in 0.1s"},
            {"action": "submit", "observation": PATCH},
        ],
        "info": {"exit_status": "submitted"},
    }
    cand = Candidate(instance_id=TASK.instance_id, model_patch=PATCH, trajectory=swe)
    user = judge_messages(TASK, cand)[1]["content"]
    assert "<trajectory_digest>" in user
    for line in (
        "steps: 8; ended: submitted",
        "ran a script after its last edit: yes",
        "that script's output changed since its first run: yes",
        "its last run crashed: no",
        "ran the repository's tests: yes; last run passed: yes",
    ):
        assert line in user, line


DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.usefixtures("shared_data")
def test_real_trajectories_in_three_formats_reach_features_and_the_judge(tmp_path: Path) -> None:
    """Real runs on sympy-21847 as the files their agents write (SWE-agent `.traj`, mini-swe-agent `.traj.json`)
    plus one of ours: the verifier's traj_* features and the judge's request to the (fake) server both carry the
    digest of each."""
    import gzip

    from patchjury.selection.training.pools import mini_traj
    from patchjury.selection.verifier.features import featurize

    iid = "sympy__sympy-21847"
    with gzip.open(DATA / "candidates/lite_pools_with_tests_train.jsonl.gz", "rt") as fh:
        swe = next(r for r in map(json.loads, fh) if r["instance_id"] == iid and r.get("run") == "cost_2_1")
    with gzip.open(DATA / "trajectories/verified_mini_gemini3pro_train.jsonl.gz", "rt") as fh:
        mini = next(r for r in map(json.loads, fh) if r["instance_id"] == iid)
    (tmp_path / f"{iid}.traj").write_text(
        json.dumps(
            {
                "environment": "swe_main",
                "trajectory": swe["trajectory"],
                "info": {"exit_status": "submitted", "submission": swe["model_patch"]},
            }
        )
    )
    (tmp_path / f"{iid}.traj.json").write_text(json.dumps(mini_traj(mini)))
    (tmp_path / "ours.json").write_text(json.dumps(TRAJ))
    task = Task(
        instance_id=iid, problem_statement="itermonomials returns incorrect monomials with min_degrees"
    )
    cands = [
        Candidate(instance_id=iid, candidate_id=name, model_patch=PATCH, trajectory=str(tmp_path / f))
        for name, f in (("swe", f"{iid}.traj"), ("mini", f"{iid}.traj.json"), ("ours", "ours.json"))
    ]
    feats = {c.candidate_id: featurize(task, c, cands) for c in cands}
    assert feats["swe"]["traj_ran_after_edit"] == 1.0 and feats["swe"]["traj_output_changed"] == 1.0
    assert feats["mini"]["traj_ran_tests"] == 1.0 and feats["mini"]["traj_tests_passed"] == 1.0
    assert feats["ours"]["has_trajectory"] == 1.0 and feats["ours"]["traj_ran_after_edit"] == 0.0
    with FakeOpenAIServer([_entry(-0.2, -1.9)] * 3) as server:
        judge = _judge(server)
        for cand in cands:
            judge.score(task, cand)
        users = [body["messages"][1]["content"] for body in server.requests]
    assert len(users) == 3 and all("<trajectory_digest>" in u for u in users)
    assert (
        "steps: 11; ended: submitted" in users[0]
        and "that script's output changed since its first run: yes" in users[0]
    )
    assert (
        "ended: Submitted" in users[1] and "ran the repository's tests: yes; last run passed: yes" in users[1]
    )
    assert "ran a script after its last edit: no" in users[2]

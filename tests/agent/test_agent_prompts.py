"""Prompts: YAML/Jinja templates rendered from a Task only, never with gold fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchjury.agent.errors import PromptError
from patchjury.agent.prompting import initial_messages, load_prompts
from patchjury.records import Task

TOOLS = [{"type": "function", "function": {"name": "view", "description": "Show a file.", "parameters": {}}}]
GOLD = {
    "patch": "diff --git a/GOLDPATCHMARKER.py b/GOLDPATCHMARKER.py",
    "test_patch": "diff --git a/tests/TESTPATCHMARKER.py",
    "FAIL_TO_PASS": '["tests/test_x.py::FAILTOPASSMARKER"]',
    "PASS_TO_PASS": '["tests/test_x.py::PASSTOPASSMARKER"]',
    "environment_setup_commit": "ENVSETUPMARKER",
}


def test_prompt_sees_only_the_task_never_gold_fields() -> None:
    instance = {
        "instance_id": "o__r-1",
        "repo": "o/r",
        "base_commit": "abc123",
        "problem_statement": "The frobnicator breaks on empty input.",
        "hints_text": "HINTMARKER look at frob()",
        **GOLD,
    }
    with pytest.raises(ValueError):
        Task(**instance)  # a Task cannot even carry gold fields
    task = Task(**{k: instance[k] for k in Task.model_fields})
    for show_hints in (False, True):
        msgs = initial_messages(load_prompts(), task, TOOLS, "/repo", show_hints=show_hints)
        text = "\n".join(m["content"] for m in msgs)
        assert "frobnicator breaks" in text and "exit code 2" in text and "- view: Show a file." in text
        for name, value in GOLD.items():
            assert value not in text
            assert name == "patch" or name not in text  # "patch" is an ordinary word of the instructions
        assert ("HINTMARKER" in text) is show_hints
    with pytest.raises(PromptError, match="Task"):
        initial_messages(load_prompts(), instance, TOOLS, "/repo")  # type: ignore[arg-type]


def test_prompt_files_are_validated(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="known prompts: default"):
        load_prompts("nope")
    partial = tmp_path / "p.yaml"
    partial.write_text("system: hi\n")
    with pytest.raises(PromptError, match="instance"):
        load_prompts(str(partial))
    strict = tmp_path / "s.yaml"
    strict.write_text("system: '{{ undefined_thing }}'\ninstance: x\nformat_error: y\n")
    with pytest.raises(PromptError, match="undefined_thing"):
        initial_messages(load_prompts(str(strict)), Task(instance_id="a", problem_statement="b"), TOOLS, "/r")

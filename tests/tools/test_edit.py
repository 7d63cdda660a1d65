"""edit: unique str_replace, create, insert, undo (history kept inside the Env)."""

from __future__ import annotations

from patchjury.envs.local import LocalEnv
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Tool
from patchjury.tools.registry import get_tools


def test_str_replace_requires_a_unique_match(env: LocalEnv, tools: dict[str, Tool]) -> None:
    edit = tools["edit"]
    many = edit.run(
        env, {"command": "str_replace", "path": "pkg/calc.py", "old_str": "return a - b", "new_str": "x"}
    )
    assert many.error and "2 times" in many.text and "lines 2, 6" in many.text
    none = edit.run(
        env, {"command": "str_replace", "path": "pkg/calc.py", "old_str": "return a * b", "new_str": "x"}
    )
    assert none.error and "not found" in none.text
    assert env.read_file("pkg/calc.py").count("a - b") == 2  # nothing changed
    ok = edit.run(
        env,
        {
            "command": "str_replace",
            "path": "pkg/calc.py",
            "old_str": "def add(a, b):\n    return a - b",
            "new_str": "def add(a, b):\n    return a + b",
        },
    )
    assert not ok.error and "     2\t    return a + b" in ok.text
    assert env.read_file("pkg/calc.py").startswith("def add(a, b):\n    return a + b\n")


def test_not_found_points_at_near_lines(env: LocalEnv, tools: dict[str, Tool]) -> None:
    obs = tools["edit"].run(
        env,
        {
            "command": "str_replace",
            "path": "pkg/calc.py",
            "old_str": "def sub(a, b):\n  return a-b",
            "new_str": "",
        },
    )
    assert obs.error and "line(s) 5" in obs.text


def test_create_refuses_existing_unless_overwrite(env: LocalEnv, tools: dict[str, Tool]) -> None:
    edit = tools["edit"]
    created = edit.run(env, {"command": "create", "path": "pkg/util.py", "file_text": "X = 1\n"})
    assert not created.error and env.read_file("pkg/util.py") == "X = 1\n"
    again = edit.run(env, {"command": "create", "path": "pkg/util.py", "file_text": "X = 2\n"})
    assert again.error and "overwrite=true" in again.text
    over = edit.run(
        env, {"command": "create", "path": "pkg/util.py", "file_text": "X = 2\n", "overwrite": True}
    )
    assert not over.error and env.read_file("pkg/util.py") == "X = 2\n"


def test_insert_after_line(env: LocalEnv, tools: dict[str, Tool]) -> None:
    edit = tools["edit"]
    top = edit.run(
        env, {"command": "insert", "path": "pkg/calc.py", "insert_line": 0, "new_str": "import math"}
    )
    assert not top.error
    mid = edit.run(env, {"command": "insert", "path": "pkg/calc.py", "insert_line": 3, "new_str": "# note\n"})
    assert not mid.error
    assert env.read_file("pkg/calc.py").splitlines()[:5] == [
        "import math",
        "def add(a, b):",
        "    return a - b",
        "# note",
        "",
    ]
    past = edit.run(env, {"command": "insert", "path": "pkg/calc.py", "insert_line": 99, "new_str": "x"})
    assert past.error and "past the end" in past.text


def test_undo_walks_back_edits_and_creation(env: LocalEnv, tools: dict[str, Tool]) -> None:
    edit = tools["edit"]
    original = env.read_file("pkg/calc.py")
    edit.run(env, {"command": "insert", "path": "pkg/calc.py", "insert_line": 0, "new_str": "A = 1"})
    edit.run(env, {"command": "insert", "path": "pkg/calc.py", "insert_line": 0, "new_str": "B = 2"})
    assert not edit.run(env, {"command": "undo", "path": "pkg/calc.py"}).error
    assert env.read_file("pkg/calc.py") == "A = 1\n" + original
    edit.run(env, {"command": "undo", "path": "pkg/calc.py"})
    assert env.read_file("pkg/calc.py") == original
    nothing = edit.run(env, {"command": "undo", "path": "pkg/calc.py"})
    assert nothing.error and "no edit" in nothing.text
    edit.run(env, {"command": "create", "path": "new.py", "file_text": "n = 1\n"})
    edit.run(env, {"command": "undo", "path": "new.py"})
    assert "new.py" not in env.execute("ls").output


def test_undo_history_survives_new_tool_objects(env: LocalEnv, config: ToolsConfig) -> None:
    """History lives in the Env, not in the tool object (a resumed process has new tool objects)."""
    (first,) = get_tools(["edit"], config=config)
    first.run(env, {"command": "create", "path": "pkg/calc.py", "file_text": "gone\n", "overwrite": True})
    (second,) = get_tools(["edit"], config=config)
    assert not second.run(env, {"command": "undo", "path": "pkg/calc.py"}).error
    assert "def add" in env.read_file("pkg/calc.py")


def test_edit_arguments_per_command_and_paths(env: LocalEnv, tools: dict[str, Tool]) -> None:
    edit = tools["edit"]
    missing = edit.run(env, {"command": "str_replace", "path": "pkg/calc.py", "old_str": "x"})
    assert missing.error and "needs new_str" in missing.text
    outside = edit.run(env, {"command": "create", "path": "../escape.py", "file_text": ""})
    assert outside.error and "outside the repository" in outside.text
    absent = edit.run(env, {"command": "insert", "path": "nope.py", "insert_line": 0, "new_str": "x"})
    assert absent.error and "does not exist" in absent.text


def test_syntax_error_is_flagged_but_kept(env: LocalEnv, tools: dict[str, Tool]) -> None:
    obs = tools["edit"].run(
        env,
        {
            "command": "str_replace",
            "path": "pkg/calc.py",
            "old_str": "def sub(a, b):",
            "new_str": "def sub(a, b)",
        },
    )
    assert not obs.error and "syntax error at line 5" in obs.text
    assert "def sub(a, b)\n" in env.read_file("pkg/calc.py")


def test_str_replace_in_a_crlf_file_keeps_crlf(env: LocalEnv, tools: dict[str, Tool]) -> None:
    env.write_file("win.py", "a = 1\r\nb = 2\r\n")
    obs = tools["edit"].run(
        env,
        {"command": "str_replace", "path": "win.py", "old_str": "a = 1\nb = 2", "new_str": "a = 1\nb = 3"},
    )
    assert not obs.error
    assert env.read_file("win.py") == "a = 1\r\nb = 3\r\n"

"""view, search and find_files over a real checkout."""

from __future__ import annotations

from patchjury.envs.local import LocalEnv
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Tool
from patchjury.tools.registry import get_tools


def test_view_file_with_line_numbers_and_range(env: LocalEnv, tools: dict[str, Tool]) -> None:
    obs = tools["view"].run(env, {"path": "pkg/calc.py"})
    assert not obs.error
    assert "     2\t    return a - b" in obs.text
    part = tools["view"].run(env, {"path": "pkg/calc.py", "view_range": [5, -1]})
    assert part.text.splitlines()[0] == "pkg/calc.py (lines 5-6 of 6)"
    assert "def sub" in part.text and "def add" not in part.text


def test_view_bad_range_and_missing_path_are_error_observations(
    env: LocalEnv, tools: dict[str, Tool]
) -> None:
    bad = tools["view"].run(env, {"path": "pkg/calc.py", "view_range": [9, 12]})
    assert bad.error and "only 6 lines" in bad.text
    backwards = tools["view"].run(env, {"path": "pkg/calc.py", "view_range": [4, 2]})
    assert backwards.error and "start <= end" in backwards.text
    missing = tools["view"].run(env, {"path": "pkg/nope.py"})
    assert missing.error and "does not exist" in missing.text


def test_view_directory_two_levels_without_hidden(env: LocalEnv, tools: dict[str, Tool]) -> None:
    env.write_file("pkg/sub/deep/x.py", "x = 1\n")
    obs = tools["view"].run(env, {"path": "."})
    lines = obs.text.splitlines()[1:]
    assert "pkg/" in lines and "pkg/calc.py" in lines and "pkg/sub/" in lines
    assert "pkg/sub/deep/" not in lines  # third level
    assert not any(line.startswith(".") for line in lines)  # .git, .gitignore skipped


def test_view_long_file_says_how_to_continue(env: LocalEnv) -> None:
    env.write_file("big.py", "".join(f"x{i} = {i}\n" for i in range(2000)))
    (view,) = get_tools(["view"], config=ToolsConfig(output_limit=1000))
    obs = view.run(env, {"path": "big.py"})
    assert len(obs.text) <= 1000
    assert "view_range=[" in obs.text


def test_search_regex_glob_and_path(env: LocalEnv, tools: dict[str, Tool]) -> None:
    obs = tools["search"].run(env, {"pattern": r"return a \W b"})
    assert obs.data == {"matches": 2, "files": 1}
    assert "pkg/calc.py:2:    return a - b" in obs.text
    txt = tools["search"].run(env, {"pattern": "add", "glob": "*.txt"})
    assert txt.data["files"] == 1 and "docs/guide.txt:1:" in txt.text
    scoped = tools["search"].run(env, {"pattern": "add", "path": "pkg", "glob": "*.py"})
    assert all(line.startswith("pkg/") for line in scoped.text.splitlines()[1:])
    env.write_file("pkg/new_module.py", "def add_more(): pass\n")  # untracked files are searched too
    assert "pkg/new_module.py:1:" in tools["search"].run(env, {"pattern": "add_more"}).text


def test_search_caps_results_but_reports_total(env: LocalEnv) -> None:
    env.write_file("many.py", "hit = 1\n" * 50)
    (search,) = get_tools(["search"], config=ToolsConfig(search_max_results=5))
    obs = search.run(env, {"pattern": "hit", "literal": True})
    assert obs.data["matches"] == 50
    assert len(obs.text.splitlines()) == 6
    assert "showing the first 5" in obs.text


def test_search_bad_regex_and_no_match(env: LocalEnv, tools: dict[str, Tool]) -> None:
    bad = tools["search"].run(env, {"pattern": "(unclosed"})
    assert bad.error and "literal=true" in bad.text
    none = tools["search"].run(env, {"pattern": "zzz_not_there"})
    assert not none.error and none.text.startswith("No matches")


def test_find_files_by_name_and_path_glob(env: LocalEnv, tools: dict[str, Tool]) -> None:
    obs = tools["find_files"].run(env, {"pattern": "*.py"})
    assert obs.data["count"] == 3
    assert obs.text.splitlines()[1:] == ["pkg/__init__.py", "pkg/calc.py", "pkg/shapes.py"]
    assert tools["find_files"].run(env, {"pattern": "CALC.PY", "ignore_case": True}).data["count"] == 1
    assert tools["find_files"].run(env, {"pattern": "docs/*.txt"}).data["count"] == 1
    nothing = tools["find_files"].run(env, {"pattern": "calc"})
    assert nothing.data["count"] == 0 and "'*calc*'" in nothing.text


def test_find_files_caps(env: LocalEnv) -> None:
    for i in range(12):
        env.write_file(f"gen/m{i:02d}.py", "")
    (find,) = get_tools(["find_files"], config=ToolsConfig(find_max_results=4))
    obs = find.run(env, {"pattern": "m*.py", "path": "gen"})
    assert obs.data["count"] == 12
    assert obs.text.splitlines()[1:] == ["gen/m00.py", "gen/m01.py", "gen/m02.py", "gen/m03.py"]

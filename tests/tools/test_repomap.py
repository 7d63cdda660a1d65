"""Repository map: tree-sitter tags, personalized PageRank toward what the issue names, budget, cache."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from patchjury.envs.config import LocalEnvConfig
from patchjury.envs.local import LocalEnv
from patchjury.tools.config import ToolsConfig
from patchjury.tools.protocol import Tool
from patchjury.tools.repo_map import repo_map_text, set_focus_text
from patchjury.tools.repomap import FileTags, TagExtractor
from patchjury.tools.repomap_focus import find_focus
from patchjury.tools.repomap_rank import tokens

# A small project: parser <- core -> storage, plus unrelated modules (web, cli, metrics, legacy).
PROJECT = {
    "app/__init__.py": "",
    "app/parser.py": (
        "class Token:\n    pass\n\n\ndef tokenize(text):\n    return [Token() for _ in text]\n\n\n"
        "def parse_expression(text):\n    return tokenize(text)\n"
    ),
    "app/core.py": (
        "from app.parser import parse_expression, Token\nfrom app.storage import save_result\n\n\n"
        "class Evaluator:\n    def evaluate(self, text):\n        tree = parse_expression(text)\n"
        "        save_result(tree)\n        return tree\n\n    def reset(self):\n        pass\n"
    ),
    "app/storage.py": "def save_result(value):\n    return value\n\n\ndef load_result():\n    return None\n",
    "app/web.py": (
        "from app.core import Evaluator\n\n\ndef handle_request(req):\n    return Evaluator().evaluate(req)\n\n\n"
        "def render_page(body):\n    return body\n"
    ),
    "app/cli.py": "from app.web import render_page\n\n\ndef main():\n    render_page('x')\n",
    "app/metrics.py": "def record_metric(name):\n    return name\n\n\ndef flush_metrics():\n    record_metric('x')\n",
    "app/legacy.py": "".join(f"def legacy_helper_{i}(x):\n    return record(x)\n\n\n" for i in range(40))
    + "def record(x):\n    return x\n",
    "README.md": "not python\n",
}


def test_extractor_finds_definitions_and_references() -> None:
    tags = TagExtractor().extract(
        "import os\n\n\nclass Foo(Base):\n    @property\n    def bar(self, x: Thing) -> int:\n"
        "        def inner():\n            pass\n        return helper(x).go()\n\n\ndef top():\n    Foo()\n"
    )
    assert [(d.name, d.kind, d.line, d.parent) for d in tags.defs] == [
        ("Foo", "class", 4, ""),
        ("bar", "method", 6, "Foo"),
        ("top", "function", 12, ""),
    ]
    assert tags.defs[1].signature == "def bar(self, x: Thing) -> int"
    assert {"Base", "Thing", "helper", "go", "Foo", "property"} <= set(tags.refs)
    assert "inner" not in tags.refs and "x" not in tags.refs  # definitions and plain variables are not refs


def _file_order(text: str) -> list[str]:
    return [line[:-1] for line in text.splitlines()[1:] if line.endswith(":") and not line.startswith(" ")]


def test_map_ranks_named_file_and_its_neighbours_first(
    make_env: Callable[..., LocalEnv], config: ToolsConfig
) -> None:
    env = make_env(PROJECT)
    text, info = repo_map_text(env, "Evaluator.evaluate in app/core.py crashes on empty input", config=config)
    order = _file_order(text)
    assert order[0] == "app/core.py"
    assert set(order[1:3]) == {"app/parser.py", "app/storage.py"}  # what core.py uses
    assert info["focus_files"] == ["app/core.py"] and "Evaluator" in info["focus_idents"]
    assert "     5  class Evaluator" in text and "     6      def evaluate(self, text)" in text
    # Personalization moves the map: naming metrics.py puts it first instead.
    other, _ = repo_map_text(env, "record_metric drops names in app/metrics.py", config=config)
    assert _file_order(other)[0] == "app/metrics.py"


def test_map_respects_the_token_budget(make_env: Callable[..., LocalEnv], config: ToolsConfig) -> None:
    env = make_env(PROJECT)
    small, info = repo_map_text(env, "app/core.py", max_tokens=120, config=config)
    assert tokens(small) <= 120
    assert 0 < info["shown"] < info["definitions"]
    big, info_big = repo_map_text(env, "app/core.py", max_tokens=4000, config=config)
    assert tokens(big) <= 4000 and info_big["shown"] == info_big["definitions"]


def test_cache_hit_on_second_call_and_edits_are_seen(
    make_env: Callable[..., LocalEnv], config: ToolsConfig
) -> None:
    env = make_env(PROJECT)
    _, first = repo_map_text(env, "", config=config)
    assert first["cache_hit"] is False
    _, second = repo_map_text(env, "", config=config)
    assert second["cache_hit"] is True and second["commit"] == first["commit"]
    # A new file in the work tree is parsed on top of the cached commit tags.
    env.write_file("app/newmod.py", "def brand_new_function():\n    pass\n")
    text, third = repo_map_text(env, "brand_new_function", max_tokens=4000, config=config)
    assert third["cache_hit"] is True and third["changed"] == 1
    assert "def brand_new_function()" in text


def test_repo_map_tool_uses_stored_issue_text(
    make_env: Callable[..., LocalEnv], config: ToolsConfig, tools: dict[str, Tool]
) -> None:
    env = make_env(PROJECT)
    set_focus_text(env, "The bug is in app/storage.py: load_result returns None", config)
    obs = tools["repo_map"].run(env, {"max_tokens": 300})
    assert not obs.error
    assert _file_order(obs.text)[0] == "app/storage.py"
    assert tokens(obs.text) <= 300
    assert "Other languages are not mapped" in obs.text
    focus = tools["repo_map"].run(env, {"files": ["app/cli.py"], "max_tokens": 300})
    assert set(_file_order(focus.text)[:2]) == {"app/cli.py", "app/storage.py"}  # both focus files lead


def test_focus_weighs_code_like_mentions_over_plain_words() -> None:
    extractor = TagExtractor()
    tags = {p: extractor.extract(src) for p, src in PROJECT.items() if p.endswith(".py")}
    focus = find_focus(
        tags,
        "Calling `save_result` twice breaks; save_result() should reset. See the `storage` module and core.\n"
        'Traceback:\n  File "/site-packages/app/web.py", line 5, in handle_request',
    )
    assert focus.idents["save_result"] == pytest.approx(0.8)  # code-like, mentioned twice
    assert focus.idents["reset"] == pytest.approx(0.25 * 0.6)  # a plain English word, once
    assert focus.files == {"app/web.py": 1.0, "app/storage.py": 0.5}  # traceback path; `storage` stem
    assert "app/core.py" not in focus.files  # "core" alone is too generic to name a file


def test_signatures_drop_trailing_comments() -> None:
    tags = TagExtractor().extract("class A(B):  # why\n    def f(self, x='#'):  # note\n        pass\n")
    assert [d.signature for d in tags.defs] == ["class A(B)", "def f(self, x='#')"]


def test_concurrent_first_calls_build_the_cache_once(
    make_repo: Callable[[dict[str, str]], Path], config: ToolsConfig
) -> None:
    repo = make_repo(PROJECT)
    envs = [LocalEnv(LocalEnvConfig(repo=repo, use_worktree=False)) for _ in range(3)]  # three checkouts
    try:
        with ThreadPoolExecutor(3) as pool:
            infos = list(pool.map(lambda e: repo_map_text(e, "app/core.py", config=config)[1], envs))
    finally:
        for env in envs:
            env.close()
    assert sorted(i["cache_hit"] for i in infos) == [False, True, True]  # one built it, two waited and loaded


def test_dotted_module_tail_names_a_file() -> None:
    extractor = TagExtractor()
    tags = {p: extractor.extract(src) for p, src in PROJECT.items() if p.endswith(".py")}
    assert find_focus(tags, "see app.parser.tokenize").files == {"app/parser.py": 1.0}
    nested = {
        "lib/io/ascii/rst.py": FileTags(),
        "lib/io/ascii/__init__.py": FileTags(),
        "lib/rst.py": FileTags(),
    }
    assert find_focus(nested, 'tbl.write(out, format="ascii.rst")').files == {"lib/io/ascii/rst.py": 1.0}

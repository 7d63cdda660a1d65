from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from patchjury.core.config import ConfigError, build_config, merge_specs, parse_override


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step_limit: int = 10
    models: list[str] = []


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: Inner = Inner()
    name: str = "x"


def test_override_parses_yaml_scalars_and_lists() -> None:
    assert parse_override("agent.step_limit=50") == {"agent": {"step_limit": 50}}
    assert parse_override("agent.models=[a, b]") == {"agent": {"models": ["a", "b"]}}
    assert parse_override("name=") == {"name": ""}


@pytest.mark.parametrize("bad", ["patchjury.agent.step_limit", "=3", "a..b=1"])
def test_bad_override_names_the_fix(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"KEY\.PATH=VALUE"):
        parse_override(bad)


def test_files_then_overrides_merge_left_to_right(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("agent:\n  step_limit: 20\n  models: [m1]\nname: file\n")
    cfg = build_config(Outer, [str(f), "agent.step_limit=50"])
    assert cfg.agent.step_limit == 50
    assert cfg.agent.models == ["m1"]
    assert cfg.name == "file"


def test_unknown_key_is_reported_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent\.stepz"):
        build_config(Outer, ["agent.stepz=3"])


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        merge_specs([str(tmp_path / "nope.yaml")])
    f = tmp_path / "list.yaml"
    f.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        merge_specs([str(f)])
    g = tmp_path / "broken.yaml"
    g.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        merge_specs([str(g)])

"""envs.plan: the one place that plans environments (local repositories and SWE-bench instances)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from patchjury.envs.config import DockerEnvConfig, LocalEnvConfig
from patchjury.envs.errors import EnvConfigError
from patchjury.envs.plan import (
    LABEL_INSTANCE,
    EnvSettings,
    instance_env_config,
    plan_local_repo,
    require_docker,
)
from patchjury.envs.swebench.build import InstanceImage
from patchjury.envs.swebench.recipes import Recipe

ROOT = Path(__file__).resolve().parents[2]


def _image(network: bool, official: bool = False, recipe: bool = True) -> InstanceImage:
    rec = Recipe(repo="octo/widgets", network=network, env={"PATH": "/opt/venv/bin:$PATH", "X": "1"})
    return InstanceImage("patchjury/env:widgets-1", official, rec if recipe else None, 0.0)


@pytest.mark.parametrize(
    ("recipe_network", "settings_network", "expected"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True)],
)
def test_instance_network_is_the_recipes_word_or_the_users_grant(
    recipe_network: bool, settings_network: bool, expected: bool
) -> None:
    """The decision swebench run (settings.env.network) and select (the recipe's) used to disagree on: an
    instance's containers get the network when its recipe says its tests need it (so trajectories, the jury and
    grading all run them alike) or when the user grants it; never otherwise."""
    cfg = instance_env_config(_image(recipe_network), EnvSettings(network=settings_network))
    assert cfg.network is expected


def test_grading_settings_follow_the_recipe_alone() -> None:
    grading = EnvSettings(memory="2g", cpus=0.5, output_limit=0, network=False)
    assert instance_env_config(_image(False), grading).network is False
    assert instance_env_config(_image(True), grading).network is True
    official = instance_env_config(_image(True, official=True, recipe=False), grading)
    assert official.network is False and official.env == {}


def test_instance_container_takes_limits_from_settings_and_env_only_for_local_builds() -> None:
    settings = EnvSettings(memory="6g", cpus=2.0, default_timeout=42.0, output_limit=123)
    local = instance_env_config(_image(False), settings, {"dev.patchjury.front": "x"})
    assert isinstance(local, DockerEnvConfig)
    assert (local.workdir, local.memory, local.cpus, local.default_timeout, local.output_limit) == (
        "/testbed",
        "6g",
        2.0,
        42.0,
        123,
    )
    assert local.env["X"] == "1" and "$PATH" not in local.env["PATH"]
    assert local.labels == {"dev.patchjury.front": "x"}
    assert instance_env_config(_image(False, official=True), settings).env == {}


def test_local_repo_plan_without_docker(tmp_path: Path) -> None:
    plan = plan_local_repo(EnvSettings(type="local", network=True, output_limit=7), tmp_path, "abc123" * 7)
    assert plan.kind == "local" and isinstance(plan.config, LocalEnvConfig)
    assert plan.config.use_worktree is False  # the user's repository gets no worktree entry
    assert (plan.config.repo, plan.config.output_limit) == (tmp_path, 7)
    assert "not isolated" in plan.description and plan.warnings == []
    with_setup = plan_local_repo(EnvSettings(type="local", setup="pip install -e ."), tmp_path, "HEAD")
    assert any("env.setup is ignored" in w for w in with_setup.warnings)


@pytest.mark.docker
def test_local_repo_plan_in_docker_uses_the_users_network_setting(
    make_repo: Callable[[dict[str, str]], Path], base_image: str
) -> None:
    repo = make_repo({"a.py": "x = 1\n"})
    labels = {"dev.patchjury.front": "test-plan"}
    for network in (False, True):
        plan = plan_local_repo(EnvSettings(type="docker", network=network, memory="1g"), repo, "HEAD", labels)
        assert plan.kind == "docker" and isinstance(plan.config, DockerEnvConfig)
        assert plan.config.network is network and plan.config.memory == "1g"
        assert plan.config.source_repo == repo and plan.config.labels == labels
    env = plan.new_env()
    try:
        assert env.execute("cat a.py").output == "x = 1\n"
    finally:
        env.close()


def test_swebench_instances_refuse_a_local_backend() -> None:
    with pytest.raises(EnvConfigError, match=r"env\.type=local"):
        require_docker(EnvSettings(type="local"))
    require_docker(EnvSettings(type="auto"))
    assert LABEL_INSTANCE == "dev.patchjury.swebench.instance"


def test_only_the_plan_builds_env_configs() -> None:
    """One module plans environments: no other module of the package builds a Docker or local Env config."""
    pattern = re.compile(r"\b(DockerEnvConfig|LocalEnvConfig)\(")
    found = []
    for folder in ("agent", "tools", "envs", "selection", "patchjury"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if rel.parts[0] == "patchjury" and rel.parts[1] in ("agent", "tools", "envs", "selection"):
                continue  # the links to the root folders
            if rel.as_posix() in ("envs/plan.py", "envs/config.py"):
                continue
            found += [f"{rel}:{m.group(0)}" for m in pattern.finditer(path.read_text())]
    assert not found, f"plan environments in patchjury.envs.plan instead: {found}"

"""Output decoding/truncation and backend selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from patchjury.envs.config import DockerEnvConfig, EnvConfig, LocalEnvConfig
from patchjury.envs.errors import EnvConfigError
from patchjury.envs.output import HeadTailBuffer, decode, truncate_output
from patchjury.envs.registry import make_env, parse_env_config


def test_truncate_keeps_head_and_tail() -> None:
    text = "H" * 50 + "M" * 1000 + "T" * 50
    out, cut = truncate_output(text, 100)
    assert cut
    assert out.startswith("H" * 50) and out.endswith("T" * 50)
    assert "[... 1000 characters elided ...]" in out
    assert truncate_output("short", 100) == ("short", False)
    assert truncate_output(text, 0) == (text, False)


def test_decode_replaces_bad_bytes() -> None:
    assert decode(b"ok \xff \xe2\x9c\x93") == "ok \ufffd ✓"


def test_head_tail_buffer_bounds_memory_and_counts() -> None:
    buf = HeadTailBuffer(10)
    for _ in range(1000):
        buf.feed(b"0123456789" * 10)
    assert len(buf.head) + len(buf.tail) <= 3 * buf.keep
    text, cut = buf.render(10)
    assert cut and text.startswith("01234") and text.endswith("56789")
    assert "[... 99990 characters elided ...]" in text
    small = HeadTailBuffer(100)
    small.feed(b"abc")
    assert small.render(100) == ("abc", False)


def test_unknown_type_names_valid_types() -> None:
    with pytest.raises(EnvConfigError, match="valid types: docker, local"):
        parse_env_config({"type": "podman", "image": "x"})

    class Fake:
        type = "kubernetes"

    with pytest.raises(EnvConfigError, match="valid types: docker, local"):
        make_env(Fake())  # type: ignore[arg-type]


def test_discriminated_config(tmp_path: Path) -> None:
    adapter: TypeAdapter[EnvConfig] = TypeAdapter(EnvConfig)
    local = adapter.validate_python({"type": "local", "repo": str(tmp_path)})
    assert isinstance(local, LocalEnvConfig) and local.commit == "HEAD"
    docker = parse_env_config({"type": "docker", "image": "img"})
    assert isinstance(docker, DockerEnvConfig)
    assert docker.workdir == "/testbed" and docker.network is False and docker.memory == "4g"
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "docker", "image": "img", "typo_field": 1})
    with pytest.raises(EnvConfigError, match="workdir must be an absolute path"):
        parse_env_config({"type": "docker", "image": "img", "workdir": "testbed"})


def test_local_rejects_non_repo(tmp_path: Path) -> None:
    with pytest.raises(EnvConfigError, match="not a git repository"):
        make_env(LocalEnvConfig(repo=tmp_path))

"""Env images: content-hash caching, setup baked in, CA bundle at build time, clear build failures."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from patchjury.envs.config import DockerEnvConfig
from patchjury.envs.docker import DockerEnv
from patchjury.envs.errors import ImageBuildError
from patchjury.envs.images import build_env_image, ensure_base_image, env_image_tag

pytestmark = pytest.mark.docker


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Collects tags to delete after the test; build logs go to tmp_path."""
    monkeypatch.setenv("PATCHJURY_CACHE", str(tmp_path / "cache"))
    tags: list[str] = []
    yield tags
    for tag in tags:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def _image_id(tag: str) -> str:
    return subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", tag], capture_output=True, text=True, check=True
    ).stdout.strip()


SETUP = [
    "mkdir -p build && echo compiled > build/ext.so",  # ignored build product (kept by reset)
    "echo generated > GENERATED.txt",  # untracked, not ignored (hidden from diff, kept)
    "sed -i 's/# sample/# sample (prepared)/' README.md",  # tracked change made by setup
    'test -r "$PIP_CERT" && test "$SSL_CERT_FILE" = "$PIP_CERT" && echo ca-ok > /opt/ca-seen',
]


@pytest.mark.slow
def test_build_cache_hit_and_baseline(
    base_image: str, sample_repo: Path, built: list[str], tmp_path: Path
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    tag = build_env_image(base_image, sample_repo, "HEAD", SETUP, env={"PJ_BAKED": "yes"}, ca_bundle=ca)
    built.append(tag)
    assert tag == env_image_tag(base_image, sample_repo, "HEAD", SETUP, env={"PJ_BAKED": "yes"})
    first_id = _image_id(tag)
    logs = list((tmp_path / "cache" / "build-logs").iterdir())
    assert len(logs) == 1 and "step 4/4" in logs[0].read_text()

    again = build_env_image(base_image, sample_repo, "HEAD", SETUP, env={"PJ_BAKED": "yes"}, ca_bundle=ca)
    assert again == tag and _image_id(again) == first_id  # cache hit: nothing rebuilt
    assert len(list((tmp_path / "cache" / "build-logs").iterdir())) == 1

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=sample_repo, capture_output=True, text=True)
    with DockerEnv(DockerEnvConfig(image=tag)) as env:
        assert env.diff() == ""
        assert env.execute("git rev-parse HEAD~1").output.strip() == head.stdout.strip()
        assert env.read_file("README.md") == "# sample (prepared)\n"
        assert env.execute("cat /opt/ca-seen").output.strip() == "ca-ok"
        assert env.execute('echo "$PJ_BAKED"; test -e "$PIP_CERT"').output.strip() == "yes"
        env.write_file("pkg/calc.py", "changed\n")
        env.write_file("build/new.o", "junk\n")
        env.write_file("agent_notes.txt", "x\n")
        assert "GENERATED" not in env.diff() and "pkg/calc.py" in env.diff()
        env.reset()
        assert env.diff() == ""
        assert env.execute("cat build/ext.so GENERATED.txt").output == "compiled\ngenerated\n"
        assert env.execute("test -e build/new.o || test -e agent_notes.txt").exit_code == 1


@pytest.mark.slow
def test_changed_setup_gives_new_tag_and_failure_is_clear(
    base_image: str, sample_repo: Path, built: list[str]
) -> None:
    one = build_env_image(base_image, sample_repo, "HEAD", ["echo one > one.txt"], ca_bundle=None)
    built.append(one)
    two_tag = env_image_tag(base_image, sample_repo, "HEAD", ["echo two > two.txt"])
    assert two_tag != one
    with pytest.raises(ImageBuildError) as info:
        build_env_image(
            base_image,
            sample_repo,
            "HEAD",
            ["echo about to fail", "echo boom-output; exit 3"],
            ca_bundle=None,
        )
    msg = str(info.value)
    assert "setup step 2/2" in msg and "exit 3" in msg and "boom-output" in msg
    log = Path(msg.split("full log: ")[1].split("\n")[0])
    assert log.is_file() and "about to fail" in log.read_text()
    failing_tag = env_image_tag(
        base_image, sample_repo, "HEAD", ["echo about to fail", "echo boom-output; exit 3"]
    )
    assert subprocess.run(["docker", "image", "inspect", failing_tag], capture_output=True).returncode != 0


def test_ensure_base_image(base_image: str) -> None:
    assert ensure_base_image(base_image) == base_image
    assert ensure_base_image(None) == base_image
    with pytest.raises(ImageBuildError, match="patchjury images bootstrap"):
        ensure_base_image("localhost:1/patchjury/no-such-image:latest")


def test_tag_is_named_after_the_given_name(base_image: str, sample_repo: Path) -> None:
    plain = env_image_tag(base_image, sample_repo, "HEAD", ["true"])
    named = env_image_tag(base_image, sample_repo, "HEAD", ["true"], name="psf__requests")
    assert named.startswith("patchjury/env:psf__requests-")
    assert named.rsplit("-", 1)[1] == plain.rsplit("-", 1)[1]  # same content key


def test_one_image_exists_check(base_image: str) -> None:
    """envs.sweep.image_exists is the one check (bootstrap, env images and official images use it)."""
    from patchjury.envs import bootstrap, images
    from patchjury.envs.swebench import build
    from patchjury.envs.sweep import image_exists

    assert image_exists(base_image)
    assert not image_exists("patchjury/never-built:nothing-here")
    assert not image_exists("Not A Valid::Reference")  # a malformed reference cannot exist
    assert bootstrap.image_exists is images.image_exists is build.image_exists is image_exists

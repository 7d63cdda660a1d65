"""Environment images shared through a registry (`--image-registry`): a node pulls before it builds and pushes
what it builds, against a real registry protocol (tests/fakes/oci_registry.py) spoken by this machine's Docker."""

from __future__ import annotations

import io
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest
from fakes.oci_registry import FakeRegistry

from patchjury.core.cluster.node import _with_registry
from patchjury.core.cluster.registry import registry_ref

pytestmark = pytest.mark.docker


def _tiny_image(tag: str) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = tag.encode()
        info = tarfile.TarInfo("tag.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    subprocess.run(["docker", "import", "-", tag], input=buf.getvalue(), capture_output=True, check=True)


def test_first_node_builds_and_pushes_the_next_pulls(tmp_path: Path) -> None:
    tag = f"pjtest/registry-build:{uuid.uuid4().hex[:12]}"
    key = uuid.uuid4().hex * 2
    built: list[str] = []

    def build() -> str:
        _tiny_image(tag)
        built.append(tag)
        return tag

    with FakeRegistry(tmp_path / "registry") as reg:
        prefix = f"{reg.host}/team"
        ref = registry_ref(prefix, "owner__repo", key)
        try:
            first = _with_registry(prefix, "owner__repo", key, build)
            assert (first.source, first.tag, built) == ("built", tag, [tag])
            assert reg.pushed() == [f"team/patchjury-env:owner__repo-{key[:16]}"]
            subprocess.run(["docker", "rmi", ref], capture_output=True)  # "another node": it lacks the image
            second = _with_registry(prefix, "owner__repo", key, build)
            assert (second.source, second.tag, built) == ("pulled", ref, [tag])  # pulled, not built again
            assert ("GET", f"/v2/team/patchjury-env/manifests/owner__repo-{key[:16]}") in reg.requests or (
                "HEAD",
                f"/v2/team/patchjury-env/manifests/owner__repo-{key[:16]}",
            ) in reg.requests
        finally:
            subprocess.run(["docker", "rmi", ref, tag], capture_output=True)


def test_a_push_refused_mid_run_keeps_the_built_image_and_says_so(tmp_path: Path) -> None:
    """The start-up probe passed, then the registry refused (quota, token expired): the node uses the image it
    built, the trajectory runs, and the line reaches the instance's record instead of failing the trajectory."""
    tag = f"pjtest/registry-build:{uuid.uuid4().hex[:12]}"
    key = uuid.uuid4().hex * 2
    built: list[str] = []

    def build() -> str:
        _tiny_image(tag)
        built.append(tag)
        return tag

    with FakeRegistry(tmp_path / "registry", refuse_push=True) as reg:
        prefix = f"{reg.host}/team"
        ref = registry_ref(prefix, "owner__repo", key)
        try:
            image = _with_registry(prefix, "owner__repo", key, build)
            assert (image.source, image.tag, built) == ("built", tag, [tag])
            assert image.warning.startswith("image not shared: the registry refused the push of " + ref)
            assert reg.pushed() == []
        finally:
            subprocess.run(["docker", "rmi", ref, tag], capture_output=True)

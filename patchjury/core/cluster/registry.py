"""Environment images shared through a registry (`--image-registry HOST[:PORT]/PREFIX`).

A node pulls `PREFIX/patchjury-env:<repo>-<key>` before building and pushes what it builds, so each image is built
once per cluster instead of once per node. The key hashes the image's inputs (base image name, commit, setup
commands, environment, workdir), never a local image id, so every node computes the same reference.
`probe_push` (start-up check) pushes a tiny image, so a registry that refuses pushes fails the run before work.
"""

from __future__ import annotations

import io
import re
import tarfile

from patchjury.core.cluster.errors import RegistryPushError


def registry_ref(registry: str, name: str, key: str) -> str:
    """The node-independent registry reference of an env image (keyed by its inputs, not by image ids)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip(".-")[:40] or "repo"
    return f"{registry.rstrip('/')}/patchjury-env:{slug}-{key[:16]}"


def pull(ref: str) -> bool:
    from docker.errors import DockerException

    from patchjury.envs.sweep import docker_client

    try:
        docker_client().images.pull(ref)
    except DockerException:
        return False
    return True


def push_image(tag: str, ref: str) -> None:
    """Tag `tag` as `ref` and push it; RegistryPushError with the registry's own words when refused."""
    from docker.errors import DockerException

    from patchjury.envs.sweep import docker_client

    client = docker_client()
    repository, _, ref_tag = ref.rpartition(":")
    try:
        client.images.get(tag).tag(repository, ref_tag)
        errors = [
            str(item.get("error") or item.get("errorDetail", {}).get("message"))
            for item in client.api.push(repository, tag=ref_tag, stream=True, decode=True)
            if isinstance(item, dict) and (item.get("error") or item.get("errorDetail"))
        ]
    except DockerException as exc:
        errors = [str(exc).splitlines()[0][:300]]
    if errors:
        raise RegistryPushError(
            f"the registry refused the push of {ref} ({errors[-1]}); log in on every node "
            f"(`docker login {ref.split('/')[0]}`) or choose a registry the nodes may write to"
        )


def _tiny_image(tag: str) -> None:
    """A one-file image imported from a tar (no base image, no registry needed)."""
    from patchjury.envs.sweep import docker_client

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"patchjury registry probe\n"
        info = tarfile.TarInfo("patchjury-probe.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    repository, _, name = tag.rpartition(":")
    docker_client().api.import_image_from_data(buf.getvalue(), repository=repository, tag=name)


def probe_push(registry: str, run_id: str) -> str:
    """'' when this node can push to `registry`, else one line saying what the registry answered."""
    from docker.errors import DockerException

    from patchjury.envs.sweep import docker_client

    local = f"patchjury/registry-probe:{re.sub(r'[^a-z0-9_.-]', '-', run_id.lower())[:100]}"
    ref = f"{registry.rstrip('/')}/patchjury-probe:{local.split(':')[1]}"
    try:
        _tiny_image(local)
        push_image(local, ref)
    except RegistryPushError as exc:
        return f"image registry {registry}: {exc}"
    except DockerException as exc:
        return f"image registry {registry}: cannot prepare the probe image ({str(exc).splitlines()[0][:200]})"
    finally:
        for tag in (local, ref):
            try:
                docker_client().images.remove(tag, noprune=False)
            except DockerException:
                pass
    return ""

"""File I/O in a container through the engine's archive API (used when the in-container runner is not
available): arbitrary bytes, any size, symlinks followed, an existing file's mode kept."""

from __future__ import annotations

import base64
import io
import json
import posixpath
import tarfile
import time
from collections.abc import Callable
from typing import Any

from patchjury.envs.errors import EnvFileError

_DIR_BIT = 1 << 31
_SYMLINK_BIT = 1 << 27


def stat(api: Any, container_id: str, path: str) -> dict[str, Any] | None:
    """Docker's stat of a path in the container (None when missing)."""
    url = f"{api.base_url}/v{api.api_version}/containers/{container_id}/archive"
    res = api.head(url, params={"path": path})
    if res.status_code == 404:
        return None
    if res.status_code != 200:
        raise EnvFileError(f"cannot stat {path} in the container (HTTP {res.status_code})")
    header = res.headers.get("X-Docker-Container-Path-Stat", "")
    info: dict[str, Any] = json.loads(base64.b64decode(header)) if header else {}
    return info


def read_bytes(api: Any, container_id: str, path: str) -> bytes:
    """Content of a regular file (symlinks followed)."""
    from docker.errors import APIError, NotFound

    for _ in range(8):
        try:
            bits, st = api.get_archive(container_id, path)
            data = b"".join(bits)
        except NotFound as exc:
            raise EnvFileError(f"cannot read {path}: no such file in the container") from exc
        except APIError as exc:
            raise EnvFileError(f"cannot read {path}: {exc}") from exc
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            if member is None:
                raise EnvFileError(f"cannot read {path}: empty archive")
            if member.issym():
                target = st.get("linkTarget") or member.linkname
                path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
                continue
            if not member.isfile():
                raise EnvFileError(f"cannot read {path}: not a regular file")
            fh = tar.extractfile(member)
            return fh.read() if fh is not None else b""
    raise EnvFileError(f"cannot read {path}: too many symlinks")


def write_bytes(
    api: Any, container_id: str, path: str, data: bytes, mkdir: Callable[[str], None], uid: int = 0
) -> None:
    """Create or overwrite a file owned by `uid` (= gid: the container user, as the runner would write it);
    `mkdir(parent)` is called when the parent directory is missing."""
    from docker.errors import APIError, NotFound

    st = stat(api, container_id, path)
    mode = 0o644
    if st is not None:
        raw = int(st.get("mode", 0))
        if raw & _DIR_BIT:
            raise EnvFileError(f"cannot write {path}: it is a directory")
        if raw & _SYMLINK_BIT and st.get("linkTarget"):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path), st["linkTarget"]))
        mode = raw & 0o7777 or 0o644
    info = tarfile.TarInfo(posixpath.basename(path))
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    info.uid = info.gid = uid
    blob = io.BytesIO()
    with tarfile.open(fileobj=blob, mode="w") as tar:
        tar.addfile(info, io.BytesIO(data))
    parent = posixpath.dirname(path) or "/"
    try:
        try:
            api.put_archive(container_id, parent, blob.getvalue())
        except NotFound:
            mkdir(parent)
            api.put_archive(container_id, parent, blob.getvalue())
    except APIError as exc:
        raise EnvFileError(f"cannot write {path}: {exc}") from exc

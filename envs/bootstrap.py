"""Offline base-image bootstrap: debootstrap a Debian suite and `docker import` it.

Used when no container registry is reachable. The Debian mirror is read from the machine's
apt sources at run time (never hard-coded), so it works behind whatever mirror the host uses.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from patchjury.envs.errors import ImageBuildError
from patchjury.envs.sweep import LABEL_SANDBOX_UID, LABEL_SANDBOX_USER, image_exists

#: Debian suite -> the Python it ships (what SWE-bench recipes need to know).
SUITE_PYTHON = {"bookworm": "3.11", "bullseye": "3.9"}
#: Packages every patchjury base image carries.
BASE_PACKAGES = (
    "python3",
    "python3-venv",
    "python3-pip",
    "python3-dev",
    "python-is-python3",  # `python` works in commands and reproduction tests, as in official images
    "python3-pytest",  # repository tests (regression signal) run without a network install
    "git",
    "ca-certificates",
    "patch",
    "procps",
    "build-essential",
)
BOOTSTRAP_VERSION = "2"
#: The unprivileged user sandboxes run as (uid = gid), and the work tree it owns in the base image.
SANDBOX_USER, SANDBOX_UID, SANDBOX_WORKDIR = "patchjury", 1000, "/testbed"
APT_SOURCE_FILES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")


def debian_mirror(sources: tuple[str, ...] = APT_SOURCE_FILES) -> str:
    """Return the first Debian archive URI configured in the host's apt sources."""
    files: list[Path] = []
    for name in sources:
        p = Path(name)
        if p.is_dir():
            files.extend(sorted(f for f in p.iterdir() if f.suffix in (".list", ".sources")))
        elif p.is_file():
            files.append(p)
    for f in files:
        for line in f.read_text(errors="replace").splitlines():
            line = line.strip()
            m = re.match(r"^URIs:\s*(\S+)", line) or re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
            if m and re.search(r"/debian/?$", m.group(1)):
                return m.group(1)
    raise ImageBuildError(
        "no Debian mirror found in the host's apt sources "
        f"({', '.join(sources)}); add a 'deb <mirror>/debian <suite> main' line or pass --mirror"
    )


def add_sandbox_user(root: Path) -> None:
    """Add the sandbox user (home directory, own group, locked password) and its work tree to a root
    filesystem, by writing the account files directly (no chroot, no useradd inside)."""
    name, uid = SANDBOX_USER, SANDBOX_UID
    etc = root / "etc"
    entries = {
        "passwd": f"{name}:x:{uid}:{uid}:patchjury sandbox:/home/{name}:/bin/bash\n",
        "group": f"{name}:x:{uid}:\n",
        "shadow": f"{name}:!:19000:0:99999:7:::\n",
        "gshadow": f"{name}:!::\n",
    }
    for fname, line in entries.items():
        path = etc / fname
        old = path.read_text() if path.exists() else ""
        if not any(ln.split(":", 1)[0] == name for ln in old.splitlines()):
            path.write_text(old + ("" if not old or old.endswith("\n") else "\n") + line)
    for d in (root / "home" / name, root / SANDBOX_WORKDIR.lstrip("/")):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, uid, uid)
        d.chmod(0o755)


def base_tag(suite: str) -> str:
    """The image tag for a bootstrapped suite, keyed by the inputs that shape it."""
    key = "|".join([BOOTSTRAP_VERSION, suite, *BASE_PACKAGES])
    return f"patchjury/base:{suite}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def bootstrap(suite: str = "bookworm", mirror: str | None = None, force: bool = False) -> str:
    """Build (or reuse) the base image for `suite`; returns its tag. An unreachable engine is an
    EngineUnavailableError before anything else runs."""
    if suite not in SUITE_PYTHON:
        raise ImageBuildError(f"unknown suite {suite!r}; choose one of {sorted(SUITE_PYTHON)}")
    from patchjury.envs.sweep import docker_client

    docker_client()  # the engine first: never debootstrap for minutes and then fail at `docker import`
    tag = base_tag(suite)
    if image_exists(tag) and not force:
        return tag
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed; run: apt-get install -y debootstrap")
    mirror = mirror or debian_mirror()
    with tempfile.TemporaryDirectory(prefix="pj-debootstrap-") as root:
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            suite,
            root,
            mirror,
        ]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            tail = (run.stdout + run.stderr)[-2000:]
            raise ImageBuildError(f"debootstrap {suite} failed (exit {run.returncode}):\n{tail}")
        # Drop apt caches to keep the image small.
        shutil.rmtree(Path(root) / "var/cache/apt/archives", ignore_errors=True)
        add_sandbox_user(Path(root))
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            [
                "docker",
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "LABEL dev.patchjury.kind=base",
                "--change",
                f"LABEL {LABEL_SANDBOX_USER}={SANDBOX_USER}",
                "--change",
                f"LABEL {LABEL_SANDBOX_UID}={SANDBOX_UID}",
                "--change",
                f"LABEL dev.patchjury.python={SUITE_PYTHON[suite]}",
                "-",
                tag,
            ],
            stdin=tar.stdout,
            capture_output=True,
            text=True,
        )
        if tar.stdout is not None:
            tar.stdout.close()
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise ImageBuildError(f"docker import of {suite} failed: {imp.stderr.strip()}")
    return tag

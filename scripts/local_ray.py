"""A real multi-node Ray cluster on this machine, for the Ray backend's tests and scripts/bench_scale.py.

    with LocalRay(tmp, nodes=[{"patchjury_slots": 2}, {"patchjury_slots": 2}]) as cluster:
        ... cluster.address ...
        cluster.kill_node(1)          # SIGKILL that node's raylet: its tasks die, as when a machine is lost

Each node is a `ray start --block` process of its own (the head first), with its own resources and its own
PATCHJURY_NODE_CACHE (nodes share no patchjury state; they do share this machine's Docker engine). Everything uses
a private temp dir and a free port, so it never touches another Ray cluster on the machine; `ray stop` (which
would end every Ray process of the machine) is never called. Exiting the block ends exactly the processes it
started (by pid, and any left over under its private temp dir).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RAY = str(Path(sys.executable).with_name("ray"))
#: Ray's token authentication, pinned for this cluster and every driver started while it is up. Left unset, a
#: `ray start --head` turns token auth on whenever ~/.ray/auth_token exists (any earlier local `ray.init()`
#: writes one), while a joining `ray start --address` stays without it and is refused (InvalidAuthToken): the
#: second node never starts. The cluster only listens on this machine's own address.
AUTH_MODE = {"RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cmdlines() -> dict[int, str]:
    out = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                out[int(proc.name)] = (
                    (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
    return out


class LocalRay:
    """Head + worker node processes; `nodes[i]` are node i's custom resources (node 0 is the head)."""

    def __init__(
        self,
        root: Path,
        nodes: list[dict[str, float]],
        env: dict[str, str] | None = None,
        node_env: list[dict[str, str]] | None = None,
        start_timeout: float = 420.0,
        num_cpus: int = 2,
    ) -> None:
        self.root = Path(root)
        self.specs = nodes
        self.env = env or {}
        self.node_env = node_env or [{} for _ in nodes]
        self.start_timeout = start_timeout
        self.num_cpus = num_cpus
        self.temp = Path(
            tempfile.mkdtemp(prefix="pjray-", dir="/tmp")
        )  # short: unix socket paths are limited
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.node_ids: list[str] = []
        self._saved_env: dict[str, str | None] = {}

    def _start(self, i: int) -> None:
        res = {**self.specs[i], f"pjnode_{i}": 1}
        cache = self.root / f"node{i}-cache"
        cache.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,  # holds AUTH_MODE from __enter__ on
            "RAY_USAGE_STATS_ENABLED": "0",
            "PATCHJURY_NODE_CACHE": str(cache),
            **self.env,
            **self.node_env[i],
        }
        common = [
            f"--num-cpus={self.num_cpus}",
            f"--resources={json.dumps(res)}",
            "--disable-usage-stats",
            "--block",
        ]
        common += ["--object-store-memory=200000000"]
        if i == 0:
            cmd = [RAY, "start", "--head", f"--port={self.port}", "--include-dashboard=false"]
            cmd += [f"--temp-dir={self.temp}", "--node-ip-address=127.0.0.1"]
        else:
            cmd = [RAY, "start", f"--address={self.address}", "--node-ip-address=127.0.0.1"]
        log = open(self.root / f"node{i}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(cmd + common, env=env, stdout=log, stderr=subprocess.STDOUT))

    def _nodes(self) -> list[dict[str, Any]]:
        run = subprocess.run(
            [sys.executable, "-c", _LIST_NODES, self.address], capture_output=True, text=True, timeout=120
        )
        if run.returncode != 0:
            return []
        return list(json.loads(run.stdout.strip().splitlines()[-1]))

    def _started(self, i: int, deadline: float) -> bool:
        """Wait for node i's `ray start` to report success (True) or to fail (False)."""
        log = self.root / f"node{i}.log"
        while time.monotonic() < deadline:
            if "Ray runtime started" in log.read_text(errors="replace"):
                return True
            if self.procs[i].poll() is not None:
                return False
            time.sleep(0.5)
        return False

    def _kill_partial(self, i: int) -> None:
        """End a node whose start failed: its `ray start` process and the raylet it may have left running."""
        proc = self.procs.pop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        for pid, cmd in _cmdlines().items():
            if f"pjnode_{i}" in cmd and str(self.temp) in cmd and pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def __enter__(self) -> LocalRay:
        self._saved_env = {k: os.environ.get(k) for k in AUTH_MODE}
        os.environ.update(AUTH_MODE)  # drivers (this process, the commands it starts) match the nodes
        self.root.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.start_timeout
        try:
            # one node at a time, retried: on a loaded machine a raylet can miss Ray's fixed 30 s start window
            for i in range(len(self.specs)):
                for attempt in range(3):
                    self._start(i)
                    if self._started(i, deadline):
                        break
                    self._kill_partial(i)
                    (self.root / f"node{i}.log").rename(self.root / f"node{i}-failed{attempt}.log")
                else:
                    raise RuntimeError(f"ray node {i} did not start; logs in {self.root}")
            while True:
                ids = {}
                for n in self._nodes():
                    for key in n["Resources"]:
                        if n["Alive"] and key.startswith("pjnode_"):
                            ids[int(key.split("_")[1])] = n["NodeID"]
                if len(ids) == len(self.specs):
                    self.node_ids = [ids[i] for i in range(len(self.specs))]
                    return self
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"only {len(ids)} of {len(self.specs)} ray nodes came up; logs in {self.root}"
                    )
                time.sleep(1.0)
        except BaseException:
            self.__exit__()
            raise

    def raylet_pid(self, i: int) -> int | None:
        node_id = self.node_ids[i]
        for pid, cmd in _cmdlines().items():
            if "raylet" in cmd.split(" ", 1)[0] and node_id in cmd:
                return pid
        return None

    def kill_node(self, i: int) -> int:
        """SIGKILL node i's raylet (what a lost machine looks like to the cluster); returns its pid."""
        pid = self.raylet_pid(i)
        if pid is None:
            raise RuntimeError(f"no raylet process found for node {i} ({self.node_ids[i][:8]})")
        os.kill(pid, signal.SIGKILL)
        return pid

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        marker = str(self.temp)
        for pid, cmd in _cmdlines().items():  # anything of ours the block processes left behind
            if marker in cmd and pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.temp, ignore_errors=True)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_LIST_NODES = """
import json, sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(json.dumps([{"NodeID": n["NodeID"], "Alive": n["Alive"], "Resources": n["Resources"]} for n in ray.nodes()]))
"""

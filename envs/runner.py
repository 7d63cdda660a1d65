"""A persistent command runner inside a container: `docker exec` costs ~60-90 ms per call on a typical
engine, a request to this runner ~5 ms. DockerEnv uses it when the image has python3 and falls back to plain
exec otherwise (or after the runner dies, e.g. an agent ran `pkill -9 -f .`).

Protocol over the exec's stdin/stdout: one JSON request per line, one JSON reply per line.
Run: `{"id", "cmd", "cwd", "timeout", "limit", "pidfile"}` -> `{"id", "rc", "head", "tail", "total", "timed_out"}`
(head/tail base64, each at most 4*limit bytes). Files: `{"id", "op": "read", "path"}` -> `{"id", "data"}`;
`{"id", "op": "write", "path", "data"}` -> `{"id"}` (parents created, an existing file keeps its mode, writes
follow symlinks, files belong to the container user); failures -> `{"id", "error"}`.
Each command runs `bash -c` in its own session; on timeout its group gets SIGTERM, then SIGKILL 5 s later
(what `timeout -k 5` does); when it ends, leftover processes of its group are killed.
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

import docker.errors

from patchjury.envs.errors import EnvCommandError
from patchjury.envs.output import HeadTailBuffer

# Runs inside the container under whatever python3 the image has: keep it Python 3.5+ compatible.
RUNNER_SOURCE = r"""
import base64, json, os, signal, subprocess, sys, threading, time
try:
    import ctypes
    ctypes.CDLL(None).prctl(15, b"pj-runner", 0, 0, 0)
except (ImportError, OSError, AttributeError):
    pass
out = sys.stdout.buffer
def killpg(pid, sig):
    try:
        os.killpg(pid, sig)
    except OSError:
        pass
def serve(req):
    limit = int(req.get("limit") or 0)
    keep = limit * 4
    head, tail, total = bytearray(), bytearray(), [0]
    try:
        proc = subprocess.Popen(["bash", "-c", req["cmd"]], cwd=req["cwd"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        msg = "cannot start command: {}".format(exc).encode()
        return {"rc": 126, "head": base64.b64encode(msg).decode(), "tail": "", "total": len(msg), "timed_out": False}
    if req.get("pidfile"):
        with open(req["pidfile"], "w") as fh:
            fh.write(str(proc.pid))
    def pump():
        fd = proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total[0] += len(chunk)
            if not keep:
                head.extend(chunk)
                continue
            room = keep - len(head)
            if room > 0:
                head.extend(chunk[:room])
                chunk = chunk[room:]
            if chunk:
                tail.extend(chunk)
                if len(tail) > 2 * keep:
                    del tail[:len(tail) - keep]
    reader = threading.Thread(target=pump)
    reader.daemon = True
    reader.start()
    timed_out = False
    try:
        rc = proc.wait(timeout=float(req["timeout"]))
    except subprocess.TimeoutExpired:
        timed_out = True
        killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
            rc = 124
        except subprocess.TimeoutExpired:
            killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = 137
    reader.join(0.5)
    killpg(proc.pid, signal.SIGKILL)
    reader.join(5)
    proc.stdout.close()
    if rc < 0:
        rc = 128 - rc
    if req.get("pidfile"):
        try:
            os.unlink(req["pidfile"])
        except OSError:
            pass
    if keep and len(tail) > keep:
        del tail[:len(tail) - keep]
    return {"rc": rc, "head": base64.b64encode(bytes(head)).decode(), "total": total[0],
            "tail": base64.b64encode(bytes(tail)).decode(), "timed_out": timed_out}
while True:
    line = sys.stdin.buffer.readline()
    if not line:
        break
    req = json.loads(line.decode())
    op = req.get("op", "run")
    try:
        if op == "read":
            with open(req["path"], "rb") as fh:
                reply = {"data": base64.b64encode(fh.read()).decode()}
        elif op == "write":
            parent = os.path.dirname(req["path"])
            if parent:
                os.makedirs(parent, exist_ok=True)
            with open(req["path"], "wb") as fh:
                fh.write(base64.b64decode(req["data"]))
            reply = {}
        else:
            reply = serve(req)
    except (OSError, ValueError) as exc:
        reply = {"error": "{}: {}".format(type(exc).__name__, exc)}
    reply["id"] = req["id"]
    out.write(json.dumps(reply).encode() + b"\n")
    out.flush()
"""

#: Starts the runner (its pid written to $2); exit 99 = no python3 in the image (use plain exec).
RUNNER_SCRIPT = 'command -v python3 >/dev/null || exit 99; echo $$ > "$2"; exec python3 -u -c "$1"'


class RunnerDied(EnvCommandError):
    """The in-container runner exited; `started` tells whether it had received the command."""

    def __init__(self, message: str, started: bool) -> None:
        super().__init__(message)
        self.started = started


class RunnerClient:
    """Client side of one runner: send a request, wait for its reply."""

    def __init__(self, api: Any, container_id: str, user: str = "") -> None:
        from patchjury.envs.sweep import no_socket_timeout

        self.api = api
        self.pidfile = f"/tmp/.pj-runner-{uuid.uuid4().hex}.pid"
        argv = ["bash", "-c", RUNNER_SCRIPT, "pj", RUNNER_SOURCE, self.pidfile]
        self.exec_id = api.exec_create(container_id, argv, stdin=True, stdout=True, stderr=True, user=user)[
            "Id"
        ]
        self.sock = api.exec_start(self.exec_id, socket=True)
        no_socket_timeout(self.sock)
        self._raw = getattr(self.sock, "_sock", self.sock)
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.stderr = bytearray()
        self.alive = True
        self._next = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        from docker.utils.socket import frames_iter

        buf = b""
        try:
            for stream, data in frames_iter(self.sock, tty=False):
                if stream == 2:
                    self.stderr += data[-4000:]
                    continue
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.replies.put(json.loads(line))
        except (OSError, ValueError):
            pass
        self.alive = False
        self.replies.put(None)

    def request(
        self, cmd: str, cwd: str, timeout: float, limit: int, pidfile: str, wait: float
    ) -> dict[str, Any]:
        """Run one command; returns the reply, or raises RunnerDied / TimeoutError (no reply within `wait`)."""
        req = {"cmd": cmd, "cwd": cwd, "timeout": timeout, "limit": limit, "pidfile": pidfile}
        return self.call(req, wait)

    def call(self, req: dict[str, Any], wait: float) -> dict[str, Any]:
        """Send one request (any op) and wait up to `wait` seconds for its reply."""
        with self._lock:
            if not self.alive:
                raise RunnerDied("the command runner is not running", started=False)
            self._next += 1
            try:
                self._raw.sendall(json.dumps({**req, "id": self._next}).encode() + b"\n")
            except OSError as exc:
                self.alive = False
                raise RunnerDied(f"cannot reach the command runner: {exc}", started=False) from exc
            while True:
                try:
                    reply = self.replies.get(timeout=wait)
                except queue.Empty:
                    raise TimeoutError("no reply from the command runner") from None
                if reply is None:
                    why = self.stderr.decode(errors="replace")[-500:]
                    raise RunnerDied(f"the command runner exited: {why}", started=True)
                if reply.get("id") == self._next:
                    return reply

    def exit_code(self) -> int | None:
        """The runner's exit code; None while it runs, or when its container is already gone."""
        try:
            code: int | None = self.api.exec_inspect(self.exec_id).get("ExitCode")
        except docker.errors.NotFound:
            return None
        return code

    def close(self) -> None:
        self.alive = False
        try:
            self.sock.close()
        except OSError:
            pass


def render_reply(reply: dict[str, Any], limit: int) -> tuple[str, bool]:
    """Output text of a runner reply, truncated head+tail like HeadTailBuffer."""
    import base64

    buf = HeadTailBuffer(limit)
    head = base64.b64decode(reply.get("head", ""))
    tail = base64.b64decode(reply.get("tail", ""))
    buf.head = bytearray(head)
    buf.tail = bytearray(tail)
    buf.total = int(reply.get("total", len(head) + len(tail)))
    return buf.render(limit)

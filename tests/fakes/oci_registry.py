"""A small container registry (Docker Registry HTTP API v2) on 127.0.0.1, for tests of `--image-registry`.

It speaks the part of the API that `docker push` and `docker pull` use (ping, blob existence checks, chunked and
monolithic blob uploads, manifests by tag or digest, blob downloads), keeps blobs in a directory (image layers
are hundreds of MB) and manifests in memory, and records every request. Docker treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default, so the engine of this
machine talks to it as to a real one. `refuse_push=True` answers uploads as a registry that denies write access
does (403, code DENIED), which is what a read-only token or a wrong project gets from real registries.

    with FakeRegistry(tmp_path / "registry") as reg:
        ... f"{reg.host}/team" as the registry prefix ...; reg.requests; reg.manifests
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_UPLOAD = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<id>[0-9a-f-]*)$")
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")


class FakeRegistry:
    def __init__(self, root: Path, refuse_push: bool = False) -> None:
        self.root = Path(root)
        (self.root / "uploads").mkdir(parents=True, exist_ok=True)
        self.refuse_push = refuse_push
        self.manifests: dict[tuple[str, str], tuple[str, bytes]] = {}
        """(name, tag or digest) -> (content type, body)."""
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def blob(self, digest: str) -> Path:
        return self.root / digest.replace(":", "_")

    def pushed(self) -> list[str]:
        """`name:tag` of every manifest pushed by tag."""
        return sorted(f"{n}:{r}" for n, r in self.manifests if not r.startswith("sha256:"))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        reg = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _error(self, code: int, kind: str, message: str) -> None:
                body = json.dumps({"errors": [{"code": kind, "message": message, "detail": None}]}).encode()
                self._send(code, body, {"Content-Type": "application/json"})

            def _copy_body(self, out: Any) -> None:
                """Stream the request body into `out` (chunked or with a Content-Length)."""
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return
                        self._copy(out, size)
                        self.rfile.readline()
                self._copy(out, int(self.headers.get("Content-Length") or 0))

            def _copy(self, out: Any, n: int) -> None:
                while n > 0:
                    chunk = self.rfile.read(min(n, 1 << 20))
                    if not chunk:
                        return
                    out.write(chunk)
                    n -= len(chunk)

            def _body(self) -> bytes:
                buf = io.BytesIO()
                self._copy_body(buf)
                return buf.getvalue()

            def _route(self) -> None:
                path, _, query = self.path.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                with reg.lock:
                    reg.requests.append((self.command, path))
                if path in ("/v2", "/v2/"):
                    return self._send(200, b"{}", {"Content-Type": "application/json"})
                if (m := _UPLOAD.match(path)) and self.command in ("POST", "PATCH", "PUT"):
                    if reg.refuse_push:
                        self._body()
                        return self._error(403, "DENIED", "requested access to the resource is denied")
                    return self._upload(m["name"], m["id"], params)
                if (m := _BLOB.match(path)) and self.command in ("GET", "HEAD"):
                    blob = reg.blob(m["digest"])
                    if not blob.exists():
                        return self._error(404, "BLOB_UNKNOWN", "blob unknown to registry")
                    data = blob.read_bytes() if self.command == "GET" else b""
                    headers = {
                        "Docker-Content-Digest": m["digest"],
                        "Content-Type": "application/octet-stream",
                    }
                    if self.command == "HEAD":
                        self.send_response(200)
                        for k, v in {**headers, "Content-Length": str(blob.stat().st_size)}.items():
                            self.send_header(k, v)
                        return self.end_headers()
                    return self._send(200, data, headers)
                if m := _MANIFEST.match(path):
                    key = (m["name"], m["ref"])
                    if self.command == "PUT":
                        body = self._body()
                        if reg.refuse_push:
                            return self._error(403, "DENIED", "requested access to the resource is denied")
                        digest = "sha256:" + hashlib.sha256(body).hexdigest()
                        kind = self.headers.get("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                        reg.manifests[key] = reg.manifests[(m["name"], digest)] = (kind, body)
                        loc = f"/v2/{m['name']}/manifests/{digest}"
                        return self._send(201, b"", {"Docker-Content-Digest": digest, "Location": loc})
                    if key not in reg.manifests:
                        return self._error(404, "MANIFEST_UNKNOWN", "manifest unknown")
                    kind, data = reg.manifests[key]
                    digest = "sha256:" + hashlib.sha256(data).hexdigest()
                    return self._send(200, data, {"Content-Type": kind, "Docker-Content-Digest": digest})
                self._body()
                return self._error(404, "UNSUPPORTED", f"{self.command} {path}")

            def _upload(self, name: str, upload_id: str, params: dict[str, str]) -> None:
                if self.command == "POST":
                    mount = params.get("mount", "").replace("%3A", ":")
                    if mount and reg.blob(mount).exists():
                        headers = {"Location": f"/v2/{name}/blobs/{mount}", "Docker-Content-Digest": mount}
                        return self._send(201, b"", headers)
                    upload_id = str(uuid.uuid4())
                part = reg.root / "uploads" / upload_id
                if self.command != "POST" and not part.exists():
                    return self._error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown")
                with part.open("ab") as fh:
                    self._copy_body(fh)
                if self.command == "PUT" or (self.command == "POST" and "digest" in params):
                    digest = params.get("digest", "").replace("%3A", ":")
                    sha = hashlib.sha256()
                    with part.open("rb") as fh:
                        for chunk in iter(lambda: fh.read(1 << 20), b""):
                            sha.update(chunk)
                    if "sha256:" + sha.hexdigest() != digest:
                        return self._error(
                            400, "DIGEST_INVALID", "provided digest did not match uploaded content"
                        )
                    part.replace(reg.blob(digest))
                    headers = {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
                    return self._send(201, b"", headers)
                loc = f"/v2/{name}/blobs/uploads/{upload_id}"
                rng = f"0-{max(0, part.stat().st_size - 1)}"
                return self._send(202, b"", {"Location": loc, "Range": rng, "Docker-Upload-UUID": upload_id})

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _route

        return Handler

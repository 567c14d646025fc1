"""A local Hugging Face Hub on 127.0.0.1: the part of its HTTP API that
``huggingface_hub`` 2.x's ``snapshot_download`` (``local_dir`` mode) uses.

- ``GET /api/models/{repo}/revision/{rev}``: the repository's info (``sha``: the commit,
  ``siblings``), read by ``HfApi.repo_info``;
- ``GET /api/models/{repo}/tree/{rev}?recursive=...``: the files with their sizes
  (``type``, ``path``, ``size``, ``oid``; no ``xetHash``), read by ``list_repo_tree``;
- ``HEAD /{repo}/resolve/{rev}/{file}``: the headers ``get_hf_file_metadata`` checks
  (``X-Repo-Commit``, ``ETag``, ``Content-Length``; no ``X-Xet-Hash``, so the plain
  HTTP download is used, never xet);
- ``GET`` of the same: the file, or from an offset with ``Range: bytes=N-`` (206), the
  way an interrupted download resumes.

Files listed in ``slow`` are sent in ``chunk`` bytes every ``delay`` seconds (a test
can stop a download half-way); ``drop={name: offset}`` closes the connection once,
after ``offset`` bytes of that file (a network cut). Every request is recorded in
``requests``.

    with FakeHub({"owner/name": folder}, slow={"big.bin"}) as hub:
        env["HF_ENDPOINT"] = hub.url
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(
        self,
        repos: dict[str, Path],
        slow: set[str] | None = None,
        chunk: int = 1 << 20,
        delay: float = 0.1,
        drop: dict[str, int] | None = None,
    ):
        self.drop = dict(drop or {})
        self.repos = {repo: Path(folder) for repo, folder in repos.items()}
        self.slow = set(slow or ())
        self.chunk, self.delay = chunk, delay
        self.requests: list[dict] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub._answer(self, body=False)

            def do_GET(self):
                hub._answer(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeHub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the repositories ---------------------------------------------
    def files(self, repo: str) -> dict[str, Path]:
        root = self.repos[repo]
        return {
            p.relative_to(root).as_posix(): p
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.relative_to(root).as_posix().startswith(".")
        }

    def _json(self, handler: BaseHTTPRequestHandler, value: object, status: int = 200) -> None:
        data = json.dumps(value).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        url = urlparse(handler.path)
        path = unquote(url.path)
        self.requests.append(
            {"method": handler.command, "path": path, "range": handler.headers.get("Range")}
        )
        info = re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path)
        tree = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        repo = next((m.group(1) for m in (info, tree, resolve) if m), None)
        if repo not in self.repos:
            self._json(handler, {"error": "Repository not found"}, 404)
            return
        files = self.files(repo)
        if info:
            siblings = [{"rfilename": name} for name in files]
            self._json(handler, {"id": repo, "sha": COMMIT, "siblings": siblings, "private": False})
        elif tree:
            entries = [
                {
                    "type": "file",
                    "path": name,
                    "size": p.stat().st_size,
                    "oid": hashlib.sha1(p.read_bytes()).hexdigest(),
                }
                for name, p in files.items()
            ]
            self._json(handler, entries)
        else:
            assert resolve is not None
            self._file(handler, files.get(resolve.group(3)), body)

    def _file(self, handler: BaseHTTPRequestHandler, path: Path | None, body: bool) -> None:
        if path is None:
            handler.send_response(404)
            handler.send_header("X-Error-Code", "EntryNotFound")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        data = path.read_bytes()
        start = 0
        wanted = re.fullmatch(r"bytes=(\d+)-", handler.headers.get("Range") or "")
        if wanted and body:
            start = min(int(wanted.group(1)), len(data))
        handler.send_response(206 if start else 200)
        handler.send_header("X-Repo-Commit", COMMIT)
        handler.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Content-Length", str(len(data) - start))
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.end_headers()
        if not body:
            return
        rest = data[start:]
        step = self.chunk if path.name in self.slow else len(rest) or 1
        cut = self.drop.pop(path.name, None)
        try:
            for offset in range(0, len(rest), step):
                if cut is not None and start + offset >= cut:
                    handler.close_connection = True  # mid-body: the client sees a cut
                    return
                handler.wfile.write(rest[offset : offset + step])
                handler.wfile.flush()
                if path.name in self.slow:
                    time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):  # the client went away (killed)
            pass

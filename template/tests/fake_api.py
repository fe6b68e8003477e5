"""A small in-memory stand-in for the GitHub and GitLab endpoints the publisher uses.

It listens on 127.0.0.1 only and keeps comments, notes, uploads and git objects in memory.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "test-token"  # noqa: S105 - a fake credential for the fake server


@dataclass
class State:
    """What the fake server holds, and how it should misbehave."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    head_sha: str = "a" * 40
    forbidden: bool = False
    requests: list[str] = field(default_factory=list)

    def new_id(self) -> int:
        return len(self.comments) + len(self.objects) + 1


def routes(state: State, method: str, path: str, body: Any) -> tuple[int, Any]:
    """Answer one request like GitHub (/repos/...) or GitLab (/projects/...) would."""
    github = re.match(r"/repos/acme/model(?P<rest>/.*)", path)
    gitlab = re.match(r"/projects/42(?P<rest>/.*)", path)
    if not (github or gitlab):
        return 404, {"message": "Not Found"}
    rest = (github or gitlab)["rest"].split("?")[0]
    if github:
        if method == "GET" and rest == "/pulls/7":
            return 200, {"number": 7, "head": {"sha": state.head_sha}}
        if rest == "/issues/7/comments":
            if method == "GET":
                return 200, state.comments
            comment = {"id": state.new_id(), "body": body["body"]}
            state.comments.append(comment)
            return 201, comment
        if method == "PATCH" and (match := re.fullmatch(r"/issues/comments/(\d+)", rest)):
            return edit(state, int(match[1]), body)
        if method == "POST" and rest in ("/git/blobs", "/git/trees", "/git/commits"):
            sha = f"{state.new_id():040x}"
            state.objects[sha] = {"kind": rest, **body, "tree": {"sha": sha}}
            return 201, {"sha": sha}
        if method == "GET" and (match := re.fullmatch(r"/git/commits/(\w+)", rest)):
            return 200, state.objects[match[1]]
        if method == "GET" and rest == "/git/ref/heads/ml-reports":
            if "ml-reports" not in state.refs:
                return 404, {"message": "Not Found"}
            return 200, {"object": {"sha": state.refs["ml-reports"]}}
        if method in ("POST", "PATCH") and rest in ("/git/refs", "/git/refs/heads/ml-reports"):
            state.refs["ml-reports"] = body["sha"]
            return 201, {}
    else:
        if method == "POST" and rest == "/uploads":
            name = f"/uploads/{len(state.uploads):032x}/plot.png"
            state.uploads.append(name)
            return 201, {"url": name, "markdown": f"![plot]({name})"}
        if rest == "/merge_requests/7/notes":
            if method == "GET":
                return 200, state.comments
            note = {"id": state.new_id(), "body": body["body"]}
            state.comments.append(note)
            return 201, note
        if method == "PUT" and (match := re.fullmatch(r"/merge_requests/7/notes/(\d+)", rest)):
            return edit(state, int(match[1]), body)
    return 404, {"message": "Not Found"}


def edit(state: State, identifier: int, body: dict[str, Any]) -> tuple[int, Any]:
    for comment in state.comments:
        if comment["id"] == identifier:
            comment["body"] = body["body"]
            return 200, comment
    return 404, {"message": "Not Found"}


def handler_for(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            state.requests.append(f"{self.command} {self.path}")
            authorised = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            authorised = authorised or self.headers.get("PRIVATE-TOKEN") == TOKEN
            if not authorised:
                status, answer = 401, {"message": "Bad credentials"}
            elif state.forbidden and self.command != "GET":
                status, answer = 403, {"message": "Resource not accessible by integration"}
            else:
                is_json = self.headers.get("Content-Type", "").startswith("application/json")
                body = json.loads(raw) if raw and is_json else {}
                status, answer = routes(state, self.command, self.path, body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = handle_any  # noqa: N815

    return Handler


@contextmanager
def serve() -> Iterator[tuple[str, State]]:
    """Run the fake API on a free port of 127.0.0.1; yield its base URL and state."""
    state = State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()

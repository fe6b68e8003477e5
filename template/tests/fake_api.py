"""A small in-memory stand-in for the GitHub and GitLab endpoints the publisher uses.

It listens on 127.0.0.1 only and keeps comments, notes, uploads and git objects in memory.
Requests with `Authorization: Bearer` are GitHub's, those with `PRIVATE-TOKEN` GitLab's.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "test-token"  # noqa: S105 - a fake credential for the fake server
# Who a workflow's GITHUB_TOKEN writes as; `GET /user` refuses that token.
ACTIONS_BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
GITLAB_BOT = {"id": 501, "username": "project_42_bot"}
OTHER_FILE = "pr-8/other.png"


@dataclass
class State:
    """What the fake server holds, and how it should misbehave."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    # GitHub issues (pull requests among them, as GitHub lists them), each with its comments.
    issues: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    head_sha: str = "a" * 40
    forbidden: bool = False
    requests: list[str] = field(default_factory=list)
    # The headers of every request, in order.
    headers: list[dict[str, str]] = field(default_factory=list)
    # GitHub's `GET /user` answer for a user's token; None: the token is GITHUB_TOKEN.
    github_user: dict[str, Any] | None = None
    # How many times another run moves ml-reports just before the publisher updates it.
    ref_races: int = 0
    # Called with the method and path of each request before it is answered.
    before: Callable[[str, str], None] | None = None
    # Answer every request with a redirect to this base URL.
    redirect_to: str = ""
    # Answer every request with an HTML page, as a proxy's sign-in page would.
    html: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> int:
        return next(self.ids)

    def new_sha(self) -> str:
        return f"{self.new_id():040x}"

    def committed(self) -> dict[str, bytes]:
        """The files of the ml-reports branch, by path."""
        tree = self.objects[self.objects[self.refs["ml-reports"]]["tree"]]["paths"]
        return {path: base64.b64decode(self.objects[sha]["content"]) for path, sha in tree.items()}

    def history(self) -> list[str]:
        """The commits of the ml-reports branch, newest first (first parents)."""
        commits, sha = [], self.refs.get("ml-reports")
        while sha:
            commits.append(sha)
            parents = self.objects[sha]["parents"]
            sha = parents[0] if parents else None
        return commits


def git(state: State, method: str, rest: str, body: Any) -> tuple[int, Any] | None:
    """The git database endpoints: blobs, trees, commits and the ml-reports ref."""
    if method == "POST" and rest == "/git/blobs":
        sha = state.new_sha()
        state.objects[sha] = {"type": "blob", "content": body["content"]}
        return 201, {"sha": sha}
    if method == "POST" and rest == "/git/trees":
        paths = dict(state.objects[body["base_tree"]]["paths"]) if "base_tree" in body else {}
        paths.update({entry["path"]: entry["sha"] for entry in body["tree"]})
        sha = state.new_sha()
        state.objects[sha] = {"type": "tree", "paths": paths}
        return 201, {"sha": sha}
    if method == "POST" and rest == "/git/commits":
        sha = state.new_sha()
        state.objects[sha] = {"type": "commit", "tree": body["tree"], "parents": body["parents"]}
        return 201, {"sha": sha}
    if method == "GET" and (match := re.fullmatch(r"/git/commits/(\w+)", rest)):
        commit = state.objects.get(match[1])
        if not commit or commit["type"] != "commit":
            return 404, {"message": "Not Found"}
        parents = [{"sha": parent} for parent in commit["parents"]]
        return 200, {"sha": match[1], "tree": {"sha": commit["tree"]}, "parents": parents}
    if method == "GET" and rest == "/git/ref/heads/ml-reports":
        if "ml-reports" not in state.refs:
            return 404, {"message": "Not Found"}
        return 200, {"object": {"sha": state.refs["ml-reports"]}}
    if (method, rest) in (("POST", "/git/refs"), ("PATCH", "/git/refs/heads/ml-reports")):
        if state.ref_races > 0:
            state.ref_races -= 1
            race(state)
        current = state.refs.get("ml-reports")
        if method == "POST" and current:
            return 422, {"message": "Reference already exists"}
        if method == "PATCH" and current not in ancestors(state, body["sha"]):
            return 422, {"message": "Update is not a fast forward"}
        state.refs["ml-reports"] = body["sha"]
        return 200, {"object": {"sha": body["sha"]}}
    return None


def issues(state: State, method: str, rest: str, path: str, body: Any) -> tuple[int, Any] | None:
    """Listing issues by state, opening one, and commenting on one (not on pull request 7)."""
    if rest == "/issues" and method == "GET":
        wanted = re.search(r"[?&]state=(\w+)", path)
        listed = [i for i in state.issues if not wanted or i["state"] == wanted[1]]
        page = int((re.search(r"[?&]page=(\d+)", path) or [0, "1"])[1])
        return 200, [{k: v for k, v in i.items() if k != "comments"} for i in listed][
            (page - 1) * 100 : page * 100
        ]
    if rest == "/issues" and method == "POST":
        number = state.new_id()
        issue = {"number": number, "title": body["title"], "body": body["body"], "state": "open",
                 "user": state.github_user or ACTIONS_BOT}  # fmt: skip
        state.issues.append({**issue, "comments": []})
        return 201, issue
    match = re.fullmatch(r"/issues/(\d+)/comments", rest)
    if match and method == "POST" and match[1] != "7":
        for issue in state.issues:
            if issue["number"] == int(match[1]):
                issue["comments"].append(body["body"])
                return 201, {"id": state.new_id(), "body": body["body"]}
        return 404, {"message": "Not Found"}
    return None


def race(state: State) -> None:
    """Another run commits a file of its own on ml-reports."""
    parent = state.refs.get("ml-reports")
    paths = dict(state.objects[state.objects[parent]["tree"]]["paths"]) if parent else {}
    blob, tree, commit = state.new_sha(), state.new_sha(), state.new_sha()
    state.objects[blob] = {"type": "blob", "content": base64.b64encode(b"other").decode()}
    state.objects[tree] = {"type": "tree", "paths": {**paths, OTHER_FILE: blob}}
    state.objects[commit] = {"type": "commit", "tree": tree, "parents": [parent] if parent else []}
    state.refs["ml-reports"] = commit


def ancestors(state: State, sha: str) -> set[str]:
    found, todo = set(), [sha]
    while todo:
        current = todo.pop()
        if current in found or current not in state.objects:
            continue
        found.add(current)
        todo.extend(state.objects[current].get("parents", []))
    return found


def routes(state: State, method: str, path: str, body: Any, github: bool) -> tuple[int, Any]:
    """Answer one request like GitHub (/repos/...) or GitLab (/projects/...) would."""
    if path.split("?")[0] == "/user" and method == "GET":
        if not github:
            return 200, GITLAB_BOT
        if state.github_user is None:
            return 403, {"message": "Resource not accessible by integration"}
        return 200, state.github_user
    repository = re.match(r"/repos/acme/model(?P<rest>/.*)", path)
    project = re.match(r"/projects/42(?P<rest>/.*)", path)
    if not (repository or project):
        return 404, {"message": "Not Found"}
    rest = (repository or project)["rest"].split("?")[0]
    if repository:
        if method == "GET" and rest == "/pulls/7":
            return 200, {"number": 7, "head": {"sha": state.head_sha}}
        if rest == "/issues/7/comments":
            if method == "GET":
                return 200, state.comments
            author = state.github_user or ACTIONS_BOT
            comment = {"id": state.new_id(), "body": body["body"], "user": author}
            state.comments.append(comment)
            return 201, comment
        if match := re.fullmatch(r"/issues/comments/(\d+)", rest):
            if method == "PATCH":
                return edit(state, int(match[1]), body)
            if method == "DELETE":
                return delete(state, int(match[1]))
        answer = issues(state, method, rest, path, body)
        if answer:
            return answer
        answer = git(state, method, rest, body)
        if answer:
            return answer
    else:
        if method == "GET" and rest == "/merge_requests/7":
            return 200, {"iid": 7, "sha": state.head_sha}
        if method == "POST" and rest == "/uploads":
            name = f"/uploads/{len(state.uploads):032x}/plot.png"
            state.uploads.append(name)
            return 201, {"url": name, "markdown": f"![plot]({name})"}
        if rest == "/merge_requests/7/notes":
            if method == "GET":
                return 200, state.comments
            note = {"id": state.new_id(), "body": body["body"], "author": GITLAB_BOT}
            state.comments.append(note)
            return 201, note
        if match := re.fullmatch(r"/merge_requests/7/notes/(\d+)", rest):
            if method == "PUT":
                return edit(state, int(match[1]), body)
            if method == "DELETE":
                return delete(state, int(match[1]))
    return 404, {"message": "Not Found"}


def edit(state: State, identifier: int, body: dict[str, Any]) -> tuple[int, Any]:
    for comment in state.comments:
        if comment["id"] == identifier:
            comment["body"] = body["body"]
            return 200, comment
    return 404, {"message": "Not Found"}


def delete(state: State, identifier: int) -> tuple[int, Any]:
    for comment in state.comments:
        if comment["id"] == identifier:
            state.comments.remove(comment)
            return 204, None
    return 404, {"message": "Not Found"}


def handler_for(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

        def answer(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with state.lock:
                state.requests.append(f"{self.command} {self.path}")
                state.headers.append(dict(self.headers.items()))
            if state.before:
                state.before(self.command, self.path)
            if state.redirect_to:
                self.answer(302, b"", {"Location": state.redirect_to + self.path})
                return
            github = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            if not (github or self.headers.get("PRIVATE-TOKEN") == TOKEN):
                status, answer = 401, {"message": "Bad credentials"}
            elif state.html:
                page = b"<html><body>Sign in to continue</body></html>"
                self.answer(200, page, {"Content-Type": "text/html; charset=utf-8"})
                return
            elif state.forbidden and self.command != "GET":
                status, answer = 403, {"message": "Resource not accessible by integration"}
            else:
                is_json = self.headers.get("Content-Type", "").startswith("application/json")
                body = json.loads(raw) if raw and is_json else {}
                with state.lock:
                    status, answer = routes(state, self.command, self.path, body, github)
                    payload = b"" if answer is None else json.dumps(answer).encode()
                self.answer(status, payload, {"Content-Type": "application/json"})
                return
            self.answer(status, json.dumps(answer).encode(), {"Content-Type": "application/json"})

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any  # noqa: N815

    return Handler


@contextmanager
def serve() -> Iterator[tuple[str, State]]:
    """Run the fake API on a free port of 127.0.0.1; yield its base URL and state."""
    state = State()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()

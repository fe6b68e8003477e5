"""Publish reports/pr/report.md on its pull or merge request, as one comment kept up to date.

Standard library only, so that a privileged CI job can run it as a plain script
(`python -I ci/publish.py ...`) without installing, or running, any code from the
pull request it reports on.

The report and its images are written by the pull request's own code, so they are treated
as untrusted: HTML is escaped, @mentions and quick actions are made inert, only real PNG
images under a size cap are published, and only a comment written by this publisher's own
identity is ever edited. The token is sent to the API's origin only, never across a redirect.

GitHub: the comment is created, then edited in place (found by its hidden marker); plots are
committed to the `ml-reports` branch and linked, so they display for anyone who can read the
repository, private ones included, with no third-party host. The report is also appended to
the job summary. Token: GITHUB_TOKEN with `pull-requests: write` and `contents: write`.

GitLab: plots go to the project's uploads, and the merge-request note is created, then
edited in place. Token: ML_REPORT_TOKEN (a project or bot access token with the `api` scope,
kept in a masked CI/CD variable), since CI_JOB_TOKEN cannot write notes.

`--issue TITLE` (GitHub) publishes another report, such as the drift check's, as an issue
instead: a comment on the open issue with that exact title that it opened itself, or a new
issue when there is none (an issue someone else opened with that title is left alone).
Its images stay in the run's artifact, which the issue links to. Token: GITHUB_TOKEN
with `issues: write`.

Exit codes: 0 published (or skipped: the request has moved on, or the pipeline stopped before
writing a report), 1 publishing failed (the message says why), 2 the command line is wrong.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MARKER = "<!-- ml-report: pipeline metrics -->"
REPORTS_BRANCH = "ml-reports"
TIMEOUT = 30
SHA = re.compile(r"[0-9a-f]{40}")
IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")
IMAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.png")
UPLOAD_URL = re.compile(r"[^\s()<>]+")
GITHUB_ACTIONS_BOT = "github-actions[bot]"
PUBLISH_FAILED = 1

# What the report may publish: each image, all of them together, how many, pixels per side.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 10 * 1024 * 1024
MAX_IMAGES = 20
MAX_IMAGE_SIDE = 10_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# How often the reports branch is re-read and the commit rebuilt when another run moved it.
REF_ATTEMPTS = 5

JOINER = "\u200d"  # zero-width joiner: splits `@name` and a leading `/` without showing
HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
MENTION = re.compile(r"@(?=[\w.-])")
COMMAND = re.compile(r"^([ \t]*)/", re.MULTILINE)
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


class PublishError(RuntimeError):
    """Publishing failed; the message says why and what to change."""


class ApiError(PublishError):
    """The API answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of a URL, the port made explicit."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


class SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the API's origin, where its token may go."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if origin(newurl) != origin(req.full_url):
            fp.close()
            scheme, host, port = origin(newurl)
            message = (
                f"{req.get_method()} {req.full_url} redirected to {scheme}://{host}:{port}, "
                "another origin: refused, so that the token is not sent there"
            )
            raise PublishError(message)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


OPENER = urllib.request.build_opener(SameOriginRedirects())


def field(answer: Any, dotted: str, where: str) -> Any:
    """``answer["a"]["b"]`` for ``dotted`` "a.b", or a PublishError naming ``where``."""
    value = answer
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            msg = f"{where} answered without `{dotted}`: is the API URL right?"
            raise PublishError(msg)
        value = value[key]
    return value


def identifier(answer: Any, where: str, key: str = "id") -> int:
    """The integer `id` of a created comment (or another integer ``key``)."""
    value = field(answer, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{where} answered a non-integer {key}"
        raise PublishError(msg)
    return value


@dataclass
class Api:
    """A JSON HTTP API with one token; errors become PublishError with advice."""

    base_url: str
    headers: dict[str, str]
    token_name: str
    permissions: str

    def request(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None, ctype: str = ""
    ) -> Any:
        """Send one request to the API; return its decoded JSON answer (None when empty)."""
        url = self.base_url.rstrip("/") + path
        if not url.startswith(("https://", "http://")):
            msg = f"API URL must be http(s): {url!r}"
            raise PublishError(msg)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = ctype or "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310  # nosec B310
        try:
            with OPENER.open(request, timeout=TIMEOUT) as response:
                content = response.read()
                content_type = response.headers.get("Content-Type") or "no content type"
        except urllib.error.HTTPError as error:
            raise ApiError(self.explain(error.code, method, path), error.code) from None
        except urllib.error.URLError as error:
            msg = f"cannot reach {self.base_url}: {error.reason}"
            raise PublishError(msg) from None
        except http.client.HTTPException as error:
            msg = f"{method} {url} failed: {type(error).__name__} {error}"
            raise PublishError(msg) from None
        if not content:
            return None
        try:
            return json.loads(content)
        except ValueError:
            msg = (
                f"{method} {url} answered {content_type[:80]!r}, not JSON: "
                "is the API URL right, or is a proxy answering instead?"
            )
            raise PublishError(msg) from None

    def explain(self, status: int, method: str, path: str) -> str:
        where = f"{method} {path} answered HTTP {status}"
        if status == 401:
            return f"{where}: {self.token_name} is missing, expired or revoked."
        if status == 403:
            return f"{where}: {self.token_name} lacks a permission; it needs {self.permissions}."
        if status == 404:
            return (
                f"{where}: not found. Check the project and request number, and that "
                f"{self.token_name} can see the project (it needs {self.permissions})."
            )
        return f"{where}."


def neutralise(text: str) -> str:
    """Make text written by the pull request's code inert in a comment.

    HTML is escaped (Markdown tables, links and images still render), any copy of the
    publisher's marker is removed, `@name` cannot notify anyone, a line starting with `/`
    is no quick action, and bidirectional controls cannot reorder what readers see.
    """
    text = BIDI_CONTROLS.sub("", text.replace(MARKER, "")).translate(HTML_ESCAPES)
    text = MENTION.sub("@" + JOINER, text)
    return COMMAND.sub(lambda m: m[1] + JOINER + "/", text)


def png_problem(data: bytes) -> str | None:
    """Why ``data`` is not one well-formed PNG of sane dimensions; None when it is."""
    if not data.startswith(PNG_SIGNATURE):
        return "not a PNG file (wrong signature)"
    position, first = len(PNG_SIGNATURE), True
    while position + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if end > len(data) or not kind.isalpha():
            return "not a well-formed PNG (a chunk is truncated or misnamed)"
        if zlib.crc32(data[position + 4 : end - 4]) != struct.unpack(">I", data[end - 4 : end])[0]:
            return "not a well-formed PNG (a chunk fails its checksum)"
        if first:
            if kind != b"IHDR" or length != 13:
                return "not a well-formed PNG (the first chunk is not IHDR)"
            width, height = struct.unpack(">II", data[position + 8 : position + 16])
            if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
                return f"{width}x{height} pixels, over {MAX_IMAGE_SIDE} per side"
            first = False
        position = end
        if kind == b"IEND":
            return None if position == len(data) else "data follows the end of the PNG"
    return "not a well-formed PNG (no IEND chunk)"


def read_capped(path: Path) -> bytes:
    """The file's bytes, reading at most one byte more than an image may have."""
    with path.open("rb") as stream:
        return stream.read(MAX_IMAGE_BYTES + 1)


def images_to_publish(directory: Path, text: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """The report's images that may be published, by name, and why each other one may not.

    Reads the files the report links to as `![...](name.png)` in ``directory``; links to
    files that do not exist there are left alone.
    """
    accepted: dict[str, bytes] = {}
    refused: dict[str, str] = {}
    total = 0
    for name in dict.fromkeys(Path(link[1]).name for link in IMAGE_LINK.findall(text)):
        path = directory / name
        if not (path.is_file() or path.is_symlink()):
            continue
        data = b""
        problem: str | None
        if not IMAGE_NAME.fullmatch(name):
            problem = "its name may hold only letters, digits, '.', '_' and '-'"
        elif path.is_symlink():
            problem = "a symbolic link, not a file"
        elif len(data := read_capped(path)) > MAX_IMAGE_BYTES:
            problem = f"over {MAX_IMAGE_BYTES} bytes"
        elif len(accepted) == MAX_IMAGES:
            problem = f"the report already has {MAX_IMAGES} images"
        elif total + len(data) > MAX_TOTAL_BYTES:
            problem = f"the images would weigh over {MAX_TOTAL_BYTES} bytes in all"
        else:
            problem = png_problem(data)
        if problem:
            refused[name] = problem
        else:
            accepted[name] = data
            total += len(data)
    return accepted, refused


def link_images(report: str, urls: dict[str, str], refused: dict[str, str] | None = None) -> str:
    """Point each local image link of the report at its uploaded URL; name refused ones."""
    refused = refused or {}

    def replace(match: re.Match[str]) -> str:
        name = Path(match[2]).name
        if name in urls:
            return f"![{match[1]}]({urls[name]})"
        if name in refused:
            return f"*{name}: not published ({refused[name]})*"
        return match[0]

    return IMAGE_LINK.sub(replace, report)


def paginate(api: Api, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    for page in range(1, 101):
        batch = api.request("GET", f"{path}{separator}per_page=100&page={page}") or []
        if not isinstance(batch, list):
            msg = f"GET {path} answered something other than a list: is the API URL right?"
            raise PublishError(msg)
        items.extend(item for item in batch if isinstance(item, dict))
        if len(batch) < 100:
            break
    return items


class Provider:
    """What GitHub and GitLab share: one marked comment, written by this publisher only."""

    api: Api

    def comments(self, number: int) -> list[dict[str, Any]]:
        raise NotImplementedError

    def written_by_me(self, comment: dict[str, Any]) -> bool:
        raise NotImplementedError

    def create(self, number: int, body: str) -> int:
        raise NotImplementedError

    def edit(self, number: int, identifier: int, body: str) -> None:
        raise NotImplementedError

    def delete(self, number: int, identifier: int) -> None:
        raise NotImplementedError

    def upload(self, number: int, images: dict[str, bytes]) -> dict[str, str]:
        raise NotImplementedError

    def superseded(self, number: int, head_sha: str) -> bool:
        raise NotImplementedError

    def marked(self, number: int) -> list[int]:
        """Ids of this publisher's own marked comments, oldest first.

        A marker in a comment written by anyone else is ignored: editing that comment would
        let its author change what the publisher wrote.
        """
        return sorted(
            comment["id"]
            for comment in self.comments(number)
            if isinstance(comment.get("id"), int)
            and MARKER in str(comment.get("body") or "")
            and self.written_by_me(comment)
        )

    def comment(self, number: int, body: str) -> str:
        """Edit this publisher's marked comment, or create it; never leave two.

        Comments are listed right before one is created, and again after: when an
        overlapping run created one first, its comment is kept, with this body, and this
        one is deleted.
        """
        mine = self.marked(number)
        if not mine:
            created = self.create(number, body)
            mine = self.marked(number)
            if not mine or mine[0] == created:
                return "created"
            self.edit(number, mine[0], body)
            mine.append(created)
        else:
            self.edit(number, mine[0], body)
        for extra in dict.fromkeys(mine[1:]):
            self.delete(number, extra)
        return "updated"


class GitHub(Provider):
    """Publish on a GitHub pull request through the REST API."""

    def __init__(
        self,
        api_url: str,
        server_url: str,
        repository: str,
        token: str,
        bot_login: str = GITHUB_ACTIONS_BOT,
    ) -> None:
        if not token:
            msg = "GITHUB_TOKEN is not set: give the job the permissions it needs and pass it."
            raise PublishError(msg)
        self.repo = repository
        self.server_url = server_url.rstrip("/")
        self.bot_login = bot_login
        self.identity: tuple[str, Any] | None = None
        self.api = Api(
            api_url,
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            "GITHUB_TOKEN",
            "`pull-requests: write` and `contents: write`",
        )

    def superseded(self, number: int, head_sha: str) -> bool:
        """True when the pull request's head is no longer the commit the report is for."""
        path = f"/repos/{self.repo}/pulls/{number}"
        return field(self.api.request("GET", path), "head.sha", f"GET {path}") != head_sha

    def me(self) -> tuple[str, Any]:
        """Who the token writes as: ("id", user id), or ("bot", login) for an app's token.

        `GET /user` answers for a user's token. A workflow's GITHUB_TOKEN or another GitHub
        App installation token is refused there (HTTP 403); it writes as the app's bot
        account, `github-actions[bot]` by default, a login no person can register.
        """
        if self.identity is None:
            try:
                user = self.api.request("GET", "/user")
                self.identity = ("id", field(user, "id", "GET /user"))
            except ApiError as error:
                if error.status != 403:
                    raise
                self.identity = ("bot", self.bot_login)
        return self.identity

    def written_by_me(self, comment: dict[str, Any]) -> bool:
        user = comment.get("user")
        if not isinstance(user, dict):
            return False
        kind, value = self.me()
        if kind == "id":
            return user.get("id") == value
        return user.get("type") == "Bot" and user.get("login") == value

    def comments(self, number: int) -> list[dict[str, Any]]:
        return paginate(self.api, f"/repos/{self.repo}/issues/{number}/comments")

    def create(self, number: int, body: str) -> int:
        path = f"/repos/{self.repo}/issues/{number}/comments"
        return identifier(self.api.request("POST", path, {"body": body}), f"POST {path}")

    def edit(self, number: int, identifier: int, body: str) -> None:
        del number  # comment ids are unique in the repository
        path = f"/repos/{self.repo}/issues/comments/{identifier}"
        self.api.request("PATCH", path, {"body": body})

    def delete(self, number: int, identifier: int) -> None:
        del number
        try:
            self.api.request("DELETE", f"/repos/{self.repo}/issues/comments/{identifier}")
        except ApiError as error:
            if error.status != 404:  # already deleted by an overlapping run
                raise

    def upload(self, number: int, images: dict[str, bytes]) -> dict[str, str]:
        """Commit the images to the reports branch; return their URLs by file name."""
        if not images:
            return {}
        base = f"/repos/{self.repo}/git"
        entries = []
        for name, data in images.items():
            encoded = base64.b64encode(data).decode()
            blob = self.api.request(
                "POST", f"{base}/blobs", {"content": encoded, "encoding": "base64"}
            )
            path = f"pr-{number}/{name}"
            sha = field(blob, "sha", f"POST {base}/blobs")
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": sha})
        for _ in range(REF_ATTEMPTS):
            commit = self.commit(number, entries)
            if commit:
                return {
                    name: f"{self.server_url}/{self.repo}/blob/{commit}/pr-{number}/{name}?raw=true"
                    for name in images
                }
        msg = (
            f"the {REPORTS_BRANCH} branch was moved by other runs during {REF_ATTEMPTS} "
            "attempts to update it: run the job again"
        )
        raise PublishError(msg)

    def commit(self, number: int, entries: list[dict[str, str]]) -> str | None:
        """Commit the entries on top of the reports branch and move the branch there.

        Returns the new commit, or None when another run moved the branch meanwhile (HTTP
        422: not a fast-forward, or the branch now exists), for the caller to try again.
        """
        base = f"/repos/{self.repo}/git"
        parent = self.branch_head()
        tree_request: dict[str, Any] = {"tree": entries}
        if parent:
            where = f"GET {base}/commits/{parent}"
            commit = self.api.request("GET", f"{base}/commits/{parent}")
            tree_request["base_tree"] = field(commit, "tree.sha", where)
        tree = self.api.request("POST", f"{base}/trees", tree_request)
        message = f"Report images for pull request #{number}"
        commit = self.api.request(
            "POST",
            f"{base}/commits",
            {
                "message": message,
                "tree": field(tree, "sha", f"POST {base}/trees"),
                "parents": [parent] if parent else [],
            },
        )
        sha = str(field(commit, "sha", f"POST {base}/commits"))
        if not SHA.fullmatch(sha):
            msg = f"POST {base}/commits answered an invalid commit SHA"
            raise PublishError(msg)
        try:
            if parent:
                update = {"sha": sha, "force": False}
                self.api.request("PATCH", f"{base}/refs/heads/{REPORTS_BRANCH}", update)
            else:
                ref = {"ref": f"refs/heads/{REPORTS_BRANCH}", "sha": sha}
                self.api.request("POST", f"{base}/refs", ref)
        except ApiError as error:
            if error.status == 422:
                return None
            raise
        return sha

    def branch_head(self) -> str | None:
        path = f"/repos/{self.repo}/git/ref/heads/{REPORTS_BRANCH}"
        try:
            ref = self.api.request("GET", path)
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return str(field(ref, "object.sha", f"GET {path}"))

    def issue(self, title: str, body: str) -> str:
        """Comment on the open issue titled ``title`` that this publisher opened, or open one;
        say which. An issue someone else opened with the same title is left alone."""
        path = f"/repos/{self.repo}/issues?state=open&sort=created&direction=asc"
        for issue in paginate(self.api, path):
            mine = "pull_request" not in issue and self.written_by_me(issue)
            if issue.get("title") == title and mine:
                number = identifier(issue, f"GET {path}", "number")
                self.api.request(
                    "POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": body}
                )
                return f"commented on issue #{number}"
        created = self.api.request(
            "POST", f"/repos/{self.repo}/issues", {"title": title, "body": body}
        )
        return f"opened issue #{identifier(created, 'POST issues', 'number')}"


class GitLab(Provider):
    """Publish on a GitLab merge request through the REST API (v4)."""

    def __init__(self, api_url: str, project_id: str, token: str) -> None:
        if not token:
            msg = (
                "ML_REPORT_TOKEN is not set: create a project or bot access token with the "
                "`api` scope and store it as a masked CI/CD variable."
            )
            raise PublishError(msg)
        self.project = urllib.parse.quote(project_id, safe="")
        self.user_id: Any = None
        self.api = Api(api_url, {"PRIVATE-TOKEN": token}, "ML_REPORT_TOKEN", "the `api` scope")

    def notes(self, number: int) -> str:
        return f"/projects/{self.project}/merge_requests/{number}/notes"

    def superseded(self, number: int, head_sha: str) -> bool:
        """True when the merge request's head is no longer the commit the report is for."""
        path = f"/projects/{self.project}/merge_requests/{number}"
        return field(self.api.request("GET", path), "sha", f"GET {path}") != head_sha

    def written_by_me(self, comment: dict[str, Any]) -> bool:
        """True for a note whose author is the token's user (`GET /user`)."""
        if self.user_id is None:
            self.user_id = field(self.api.request("GET", "/user"), "id", "GET /user")
        author = comment.get("author")
        return isinstance(author, dict) and author.get("id") == self.user_id

    def comments(self, number: int) -> list[dict[str, Any]]:
        return paginate(self.api, f"{self.notes(number)}?sort=asc")

    def create(self, number: int, body: str) -> int:
        path = self.notes(number)
        return identifier(self.api.request("POST", path, {"body": body}), f"POST {path}")

    def edit(self, number: int, identifier: int, body: str) -> None:
        self.api.request("PUT", f"{self.notes(number)}/{identifier}", {"body": body})

    def delete(self, number: int, identifier: int) -> None:
        try:
            self.api.request("DELETE", f"{self.notes(number)}/{identifier}")
        except ApiError as error:
            if error.status != 404:  # already deleted by an overlapping run
                raise

    def upload(self, number: int, images: dict[str, bytes]) -> dict[str, str]:
        del number  # uploads belong to the project, not to one merge request
        urls = {}
        path = f"/projects/{self.project}/uploads"
        for name, data in images.items():
            boundary = uuid.uuid4().hex
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{name}"\r\nContent-Type: image/png\r\n\r\n'
                ).encode()
                + data
                + f"\r\n--{boundary}--\r\n".encode()
            )
            answer = self.api.request(
                "POST", path, raw=body, ctype=f"multipart/form-data; boundary={boundary}"
            )
            url = field(answer, "url", f"POST {path}")
            if not isinstance(url, str) or not UPLOAD_URL.fullmatch(url):
                msg = f"POST {path} answered an unusable upload URL"
                raise PublishError(msg)
            urls[name] = url
        return urls


def publish(provider: Provider, number: int, report: Path) -> tuple[str, str]:
    """Upload the report's images, then create or update the one marked comment.

    Reads the report and the images it links to next to it. Returns what happened
    ("created" or "updated") and the body that was posted.
    """
    try:
        text = neutralise(report.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        msg = f"{report} is not UTF-8 text ({error.reason})"
        raise PublishError(msg) from None
    images, refused = images_to_publish(report.parent, text)
    for name, problem in refused.items():
        print(f"publish: {name} not published: {problem}", file=sys.stderr)
    urls = provider.upload(number, images)
    body = MARKER + "\n" + link_images(text.lstrip("\n"), urls, refused)
    return provider.comment(number, body), body


def issue_body(report: Path, run_url: str) -> str:
    """The report without its image lines, made inert, with a link to the run's artifact."""
    try:
        text = report.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        msg = f"{report} is not UTF-8 text ({error.reason})"
        raise PublishError(msg) from None
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("![")]
    body = neutralise("\n".join(kept).strip() + "\n")
    if run_url:
        body += f"\nThe plots and the full report are in the artifact of [this run]({run_url}).\n"
    return body


def pull_request(path: Path, run_head_sha: str) -> tuple[int, str]:
    """Read and check the pull request number and head SHA recorded next to the report.

    The file comes from an untrusted run, so its values are validated before any use, and
    its head SHA must be the one of the run that produced it.
    """
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        number, head_sha = int(recorded["number"]), str(recorded["head_sha"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"{path} must hold a pull request number and head SHA ({error})"
        raise PublishError(msg) from None
    if number <= 0 or not SHA.fullmatch(head_sha):
        msg = f"{path} holds an invalid number or SHA"
        raise PublishError(msg)
    if run_head_sha and head_sha != run_head_sha:
        msg = f"the report is for {head_sha}, but the run built {run_head_sha}: not publishing"
        raise PublishError(msg)
    return number, head_sha


def github_from_env(bot_login: str = GITHUB_ACTIONS_BOT) -> GitHub:
    env = os.environ
    return GitHub(
        env.get("GITHUB_API_URL", "https://api.github.com"),
        env.get("GITHUB_SERVER_URL", "https://github.com"),
        env.get("GITHUB_REPOSITORY", ""),
        env.get("GITHUB_TOKEN", ""),
        bot_login,
    )


def provider_from_env(name: str, bot_login: str = GITHUB_ACTIONS_BOT) -> GitHub | GitLab:
    env = os.environ
    if name == "github":
        return github_from_env(bot_login)
    return GitLab(
        env.get("CI_API_V4_URL", "https://gitlab.com/api/v4"),
        env.get("CI_PROJECT_ID", ""),
        env.get("ML_REPORT_TOKEN", ""),
    )


def publish_issue(provider_name: str, title: str, report: Path) -> int:
    """`--issue TITLE`: the report as a comment on the open issue with that title, or a new one."""
    if provider_name != "github" or not title.strip():
        print("publish: --issue needs --provider github and a title", file=sys.stderr)
        return 2
    env = os.environ
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    run = env.get("GITHUB_RUN_ID", "")
    run_url = f"{server}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{run}"
    try:
        provider = github_from_env()
        provider.api.permissions = "`issues: write`"
        outcome = provider.issue(title, issue_body(report, run_url if run.isdigit() else ""))
    except (PublishError, OSError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return PUBLISH_FAILED
    print(f"publish: {outcome}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["github", "gitlab"], required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--number", type=int, help="pull or merge request number")
    source.add_argument("--pull-request-file", type=Path, help="JSON with number and head_sha")
    source.add_argument("--issue", metavar="TITLE", help="GitHub: publish as this issue instead")
    parser.add_argument("--head-sha", default="", help="the head SHA the report must be for")
    parser.add_argument("--report", type=Path, default=Path("reports/pr/report.md"))
    parser.add_argument(
        "--bot-login",
        default=GITHUB_ACTIONS_BOT,
        help="GitHub: the bot account an app's token writes as, when `GET /user` refuses it",
    )
    parser.add_argument(
        "--print-number", action="store_true", help="only check the file and print the number"
    )
    args = parser.parse_args(argv)
    if not args.report.is_file() and not args.print_number:
        print(f"publish: no report to publish: {args.report} is missing (the pipeline stopped)")
        return 0
    if args.issue is not None:
        return publish_issue(args.provider, args.issue, args.report)
    try:
        number, head_sha = args.number, args.head_sha
        if args.pull_request_file:
            number, head_sha = pull_request(args.pull_request_file, args.head_sha)
        if args.print_number:
            print(number)
            return 0
        provider = provider_from_env(args.provider, args.bot_login)
        if head_sha and provider.superseded(number, head_sha):
            print(f"publish: request {number} has moved on from {head_sha}; skipped")
            return 0
        outcome, body = publish(provider, number, args.report)
    except (PublishError, OSError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return PUBLISH_FAILED
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if args.provider == "github" and summary:
        with Path(summary).open("a", encoding="utf-8") as stream:
            stream.write(body + "\n")
    print(f"publish: comment {outcome} on {args.provider} request {number}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Publish reports/pr/report.md on its pull or merge request, as one comment kept up to date.

Standard library only, so that a privileged CI job can run it as a plain script
(`python src/<package>/publish.py ...`) without installing, or running, any code from the
pull request it reports on.

GitHub: the comment is created, then edited in place (found by its hidden marker); plots are
committed to the `ml-reports` branch and linked, so they display for anyone who can read the
repository, private ones included, with no third-party host. The report is also appended to
the job summary. Token: GITHUB_TOKEN with `pull-requests: write` and `contents: write`.

GitLab: plots go to the project's uploads, and the merge-request note is created, then
edited in place. Token: ML_REPORT_TOKEN (a project or bot access token with the `api` scope,
kept in a masked CI/CD variable), since CI_JOB_TOKEN cannot write notes.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "<!-- ml-report: pipeline metrics -->"
REPORTS_BRANCH = "ml-reports"
TIMEOUT = 30
SHA = re.compile(r"[0-9a-f]{40}")
IMAGE_LINK = re.compile(r"!\[([^\]]*)\]\(([^)\s]+\.png)\)")


class PublishError(RuntimeError):
    """Publishing failed; the message says why and what to change."""


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
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310  # nosec B310
                content = response.read()
        except urllib.error.HTTPError as error:
            raise PublishError(self.explain(error.code, method, path)) from None
        except urllib.error.URLError as error:
            msg = f"cannot reach {self.base_url}: {error.reason}"
            raise PublishError(msg) from None
        return json.loads(content) if content else None

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


def link_images(report: str, urls: dict[str, str]) -> str:
    """Point each local image link of the report at its uploaded URL."""
    return IMAGE_LINK.sub(lambda m: f"![{m[1]}]({urls.get(Path(m[2]).name, m[2])})", report)


def with_marker(body: str) -> str:
    return body if MARKER in body else f"{MARKER}\n{body}"


def paginate(api: Api, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    for page in range(1, 101):
        batch = api.request("GET", f"{path}{separator}per_page=100&page={page}") or []
        items.extend(batch)
        if len(batch) < 100:
            break
    return items


class GitHub:
    """Publish on a GitHub pull request through the REST API."""

    def __init__(self, api_url: str, server_url: str, repository: str, token: str) -> None:
        if not token:
            msg = "GITHUB_TOKEN is not set: give the job `pull-requests: write` and pass it."
            raise PublishError(msg)
        self.repo = repository
        self.server_url = server_url.rstrip("/")
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
        pull = self.api.request("GET", f"/repos/{self.repo}/pulls/{number}")
        return pull["head"]["sha"] != head_sha

    def upload(self, number: int, images: list[Path]) -> dict[str, str]:
        """Commit the images to the reports branch; return their URLs by file name."""
        if not images:
            return {}
        base = f"/repos/{self.repo}/git"
        entries = []
        for image in images:
            encoded = base64.b64encode(image.read_bytes()).decode()
            blob = self.api.request(
                "POST", f"{base}/blobs", {"content": encoded, "encoding": "base64"}
            )
            path = f"pr-{number}/{image.name}"
            entries.append({"path": path, "mode": "100644", "type": "blob", "sha": blob["sha"]})
        parent = self.branch_head()
        tree_request: dict[str, Any] = {"tree": entries}
        if parent:
            commit = self.api.request("GET", f"{base}/commits/{parent}")
            tree_request["base_tree"] = commit["tree"]["sha"]
        tree = self.api.request("POST", f"{base}/trees", tree_request)
        message = f"Report images for pull request #{number}"
        commit = self.api.request(
            "POST",
            f"{base}/commits",
            {"message": message, "tree": tree["sha"], "parents": [parent] if parent else []},
        )
        if parent:
            self.api.request("PATCH", f"{base}/refs/heads/{REPORTS_BRANCH}", {"sha": commit["sha"]})
        else:
            ref = {"ref": f"refs/heads/{REPORTS_BRANCH}", "sha": commit["sha"]}
            self.api.request("POST", f"{base}/refs", ref)
        return {
            image.name: f"{self.server_url}/{self.repo}/blob/{commit['sha']}/pr-{number}/"
            f"{image.name}?raw=true"
            for image in images
        }

    def branch_head(self) -> str | None:
        try:
            ref = self.api.request("GET", f"/repos/{self.repo}/git/ref/heads/{REPORTS_BRANCH}")
        except PublishError as error:
            if "HTTP 404" in str(error):
                return None
            raise
        return ref["object"]["sha"]

    def comment(self, number: int, body: str) -> str:
        comments = paginate(self.api, f"/repos/{self.repo}/issues/{number}/comments")
        mine = [c for c in comments if MARKER in (c.get("body") or "")]
        if mine:
            path = f"/repos/{self.repo}/issues/comments/{mine[0]['id']}"
            self.api.request("PATCH", path, {"body": body})
            return "updated"
        self.api.request("POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": body})
        return "created"


class GitLab:
    """Publish on a GitLab merge request through the REST API (v4)."""

    def __init__(self, api_url: str, project_id: str, token: str) -> None:
        if not token:
            msg = (
                "ML_REPORT_TOKEN is not set: create a project or bot access token with the "
                "`api` scope and store it as a masked CI/CD variable."
            )
            raise PublishError(msg)
        self.project = urllib.parse.quote(project_id, safe="")
        self.api = Api(api_url, {"PRIVATE-TOKEN": token}, "ML_REPORT_TOKEN", "the `api` scope")

    def upload(self, number: int, images: list[Path]) -> dict[str, str]:
        del number  # uploads belong to the project, not to one merge request
        urls = {}
        for image in images:
            boundary = uuid.uuid4().hex
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{image.name}"\r\nContent-Type: image/png\r\n\r\n'
                ).encode()
                + image.read_bytes()
                + f"\r\n--{boundary}--\r\n".encode()
            )
            answer = self.api.request(
                "POST",
                f"/projects/{self.project}/uploads",
                raw=body,
                ctype=f"multipart/form-data; boundary={boundary}",
            )
            urls[image.name] = answer["url"]
        return urls

    def comment(self, number: int, body: str) -> str:
        path = f"/projects/{self.project}/merge_requests/{number}/notes"
        notes = paginate(self.api, f"{path}?sort=asc")
        mine = [n for n in notes if MARKER in (n.get("body") or "")]
        if mine:
            self.api.request("PUT", f"{path}/{mine[0]['id']}", {"body": body})
            return "updated"
        self.api.request("POST", path, {"body": body})
        return "created"


def publish(provider: GitHub | GitLab, number: int, report: Path) -> tuple[str, str]:
    """Upload the report's images, then create or update the one marked comment.

    Returns what happened ("created" or "updated") and the body that was posted.
    """
    text = report.read_text(encoding="utf-8")
    names = [Path(link[1]).name for link in IMAGE_LINK.findall(text)]
    images = [report.parent / name for name in names if (report.parent / name).is_file()]
    body = with_marker(link_images(text, provider.upload(number, images)))
    return provider.comment(number, body), body


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


def provider_from_env(name: str) -> GitHub | GitLab:
    env = os.environ
    if name == "github":
        return GitHub(
            env.get("GITHUB_API_URL", "https://api.github.com"),
            env.get("GITHUB_SERVER_URL", "https://github.com"),
            env.get("GITHUB_REPOSITORY", ""),
            env.get("GITHUB_TOKEN", ""),
        )
    return GitLab(
        env.get("CI_API_V4_URL", "https://gitlab.com/api/v4"),
        env.get("CI_PROJECT_ID", ""),
        env.get("ML_REPORT_TOKEN", ""),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["github", "gitlab"], required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--number", type=int, help="pull or merge request number")
    source.add_argument("--pull-request-file", type=Path, help="JSON with number and head_sha")
    parser.add_argument("--head-sha", default="", help="the head SHA the report must be for")
    parser.add_argument("--report", type=Path, default=Path("reports/pr/report.md"))
    parser.add_argument(
        "--print-number", action="store_true", help="only check the file and print the number"
    )
    args = parser.parse_args(argv)
    try:
        number, head_sha = args.number, args.head_sha
        if args.pull_request_file:
            number, head_sha = pull_request(args.pull_request_file, args.head_sha)
        if args.print_number:
            print(number)
            return 0
        provider = provider_from_env(args.provider)
        if isinstance(provider, GitHub) and head_sha and provider.superseded(number, head_sha):
            print(f"publish: pull request #{number} has moved on from {head_sha}; skipped")
            return 0
        outcome, body = publish(provider, number, args.report)
    except (PublishError, OSError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return 1
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if args.provider == "github" and summary:
        with Path(summary).open("a", encoding="utf-8") as stream:
            stream.write(body + "\n")
    print(f"publish: comment {outcome} on {args.provider} request {number}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

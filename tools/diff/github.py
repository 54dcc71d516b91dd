"""``python -m tools.diff.github``: the diff in a pull request, as one comment that every push updates.

Run by the pull-request workflow after ``make diff``. It reads ``build/diff.md`` and ``build/diff.json`` and:

- ``--comment``: posts the report as a pull-request comment, or, when an earlier run's comment is there (found by the
  hidden marker it starts with), edits that one, so the pull request holds one diff, the latest. It calls the REST
  API through ``gh api`` with the job's token (``GH_TOKEN``), on ``GITHUB_REPOSITORY`` and pull request ``PR_NUMBER``.
- ``--summary``: writes the report to the job summary (``GITHUB_STEP_SUMMARY``), and prints a workflow warning for
  each environment whose monthly cost rises by more than ``--warn-above`` dollars (``COST_INCREASE_WARN_USD``,
  default :data:`DEFAULT_WARN_USD`) and for each stateful resource replaced or removed.

Exit status 0, or 2 when the environment or the API refuses (the message says which).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MARKER = "<!-- student-helper-infra: make diff -->"
# GitHub refuses a comment body over 65,536 characters.
MAX_BODY = 65_000
DEFAULT_WARN_USD = 25.0
REPO_ROOT = Path(__file__).resolve().parents[2]


class GitHubError(Exception):
    """A missing setting or a refused API call: one line on stderr, exit 2."""


# Who a workflow's GITHUB_TOKEN comments as.
WORKFLOW_BOT = "github-actions[bot]"


def comment_body(report: str) -> str:
    """The comment: the marker, then the report (cut to GitHub's limit, saying so)."""
    body = f"{MARKER}\n{report}"
    if len(body) <= MAX_BODY:
        return body
    note = "\n\n*The report is cut here: the whole of it is in this run's job summary.*\n"
    return body[: MAX_BODY - len(note)] + note


def gh_api(*args: str, payload: Mapping[str, Any] | None = None) -> Any:
    """``gh api <args>`` (``payload`` as its JSON input); the parsed JSON of every page it prints."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as body:
        extra: list[str] = []
        if payload is not None:
            json.dump(payload, body)
            body.flush()
            extra = ["--input", body.name]
        done = subprocess.run(["gh", "api", *args, *extra], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GitHubError(f"gh api {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return _pages(done.stdout)


def _pages(text: str) -> list[Any]:
    """``gh api --paginate`` prints one JSON document per page, back to back: every one of them."""
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        found.append(value)
    return found


def previous_comment(repository: str, number: str) -> int | None:
    """The id of the diff comment an earlier run left on the pull request (a comment of the workflow's own bot
    starting with the marker; another app's bot quoting it is not it), or None."""
    pages = gh_api("--paginate", f"repos/{repository}/issues/{number}/comments")
    for page in pages:
        for comment in page if isinstance(page, list) else [page]:
            user = comment.get("user") or {}
            if str(comment.get("body", "")).startswith(MARKER) and user.get("login") == WORKFLOW_BOT:
                return int(comment["id"])
    return None


def post(repository: str, number: str, report: str) -> str:
    """Edit the earlier diff comment, or create one; says which."""
    body = {"body": comment_body(report)}
    found = previous_comment(repository, number)
    if found is not None:
        gh_api("--method", "PATCH", f"repos/{repository}/issues/comments/{found}", payload=body)
        return f"updated comment {found}"
    gh_api("--method", "POST", f"repos/{repository}/issues/{number}/comments", payload=body)
    return "created a comment"


def warnings(document: Mapping[str, Any], threshold: float) -> list[str]:
    """One workflow warning per cost increase above ``threshold`` and per stateful resource replaced or removed."""
    lines = []
    for env, entry in document["environments"].items():
        delta = (entry.get("cost") or {}).get("delta_usd") or 0.0
        if delta > threshold:
            lines.append(
                f"::warning title=Cost increase in {env}::{env} costs ${delta:,.2f} more a month "
                f"(warned above ${threshold:,.2f}, COST_INCREASE_WARN_USD); see the diff comment"
            )
        for change in entry.get("stateful_changes", []):
            word = "replaced" if change["action"] == "replace" else "removed"
            lines.append(
                f"::warning title=Stateful resource {word} in {env}::{change['type']} {change['name']} is {word}: "
                "its data is lost unless it is copied first"
            )
    return lines


def threshold(raw: str | None) -> float:
    """The warning threshold from the repository variable (empty: the default); a bad value is an error."""
    if raw is None or not raw.strip():
        return DEFAULT_WARN_USD
    try:
        value = float(raw)
    except ValueError:
        raise GitHubError(f"COST_INCREASE_WARN_USD={raw!r} is not a number of dollars, e.g. 25 or 100.50") from None
    if value < 0:
        raise GitHubError(f"COST_INCREASE_WARN_USD={raw!r} must not be negative")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """See the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m tools.diff.github", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--report", type=Path, default=REPO_ROOT / "build" / "diff.md")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "build" / "diff.json")
    parser.add_argument("--comment", action="store_true", help="post or update the pull-request comment")
    parser.add_argument("--summary", action="store_true", help="write the job summary and the cost warnings")
    parser.add_argument("--warn-above", default=os.environ.get("COST_INCREASE_WARN_USD"), help="USD a month")
    args = parser.parse_args(argv)
    try:
        limit = threshold(args.warn_above)
        if not args.report.exists() or not args.json.exists():
            raise GitHubError(f"no diff to post: {args.report} or {args.json} is missing (run make diff first)")
        report, document = args.report.read_text(), json.loads(args.json.read_text())
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if args.summary and summary:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(report)
        for line in warnings(document, limit) if args.summary else ():
            print(line)
        if args.comment:
            repository, number = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("PR_NUMBER")
            if not repository or not number:
                raise GitHubError("GITHUB_REPOSITORY and PR_NUMBER must be set to comment on a pull request")
            print(f"diff comment on {repository}#{number}: {post(repository, number, report)}")
    except GitHubError as error:
        print(f"diff comment: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

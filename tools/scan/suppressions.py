"""The reviewed suppressions file (scan/suppressions.yaml): loading, validating and matching findings.

Each entry names one check, the resources it applies to (a URN pattern, or a Pulumi resource name and type), the
environments it applies to when not all (by class, so that a new environment of the class is covered, or by name),
optionally a ``detail`` glob over the finding's detail text, and a reason of at least one real sentence. A
suppression that matches no finding is stale, and a full scan fails on it.

The IAM linter reports one check id (UNKNOWN_PREFIX, RESOURCE_MISMATCH, ...) for many different problems in the
same policy, so a parliament entry must say which one it accepts with ``detail``; without it, a new misspelled
prefix or wrong ARN in a suppressed policy would be hidden too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import yamlio
from tools.scan.runners import Finding

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "scan" / "suppressions.yaml"
MIN_REASON = 40
_CHECK_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# parliament's issue ids are upper-case words (UNKNOWN_PREFIX, MALFORMED); checkov's start with CKV and cfn-lint's
# are a letter and digits (E3012), so the id alone says which entries are parliament's.
_PARLIAMENT_CHECK_RE = re.compile(r"^(?!CKV)[A-Z]+(?:_[A-Z]+)*$")


class SuppressionError(ValueError):
    """The suppressions file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Selector:
    """Which resources an entry covers: a URN glob, a Pulumi name + type (both globs), or a repository file glob."""

    urn: str | None = None
    """A glob over the whole URN."""
    file: str | None = None
    """A glob over the file path a repository scan reports instead of a URN."""
    name: str | None = None
    """A glob over the Pulumi resource name (the URN's last segment), used with ``type``."""
    type: str | None = None
    """A glob over the Pulumi type token (without parent types), used with ``name``."""

    def matches(self, urn: str) -> bool:
        """Whether a finding's URN is covered."""
        if self.urn is not None:
            return fnmatch.fnmatchcase(urn, self.urn)
        if self.file is not None:
            # The repository scans (secrets, dockerfile, github_actions) report a file path instead of a URN.
            return not urn.startswith("urn:") and fnmatch.fnmatchcase(urn, self.file)
        parts = urn.split("::")
        if len(parts) < 4:
            return False
        rtype = parts[2].rsplit("$", 1)[-1]  # a child resource's type is qualified by its parents' types
        return fnmatch.fnmatchcase(parts[-1], self.name or "") and fnmatch.fnmatchcase(rtype, self.type or "")

    def describe(self) -> str:
        """Human-readable form for messages."""
        if self.urn is not None:
            return self.urn
        return f"file {self.file}" if self.file is not None else f"{self.type} named {self.name}"


@dataclass(frozen=True)
class Suppression:
    """One reviewed decision not to act on a check for some resources."""

    index: int
    """The entry's 1-based position in the file, which the report and stale messages cite."""
    check: str
    """The one check id the entry suppresses (CKV_AWS_18, E3012, UNKNOWN_PREFIX)."""
    selectors: tuple[Selector, ...]
    """The resources the entry covers; each must match some finding or it is stale."""
    envs: frozenset[str] | None
    """The stacks the entry applies to (named, or every environment of its classes); None means every stack."""
    reason: str
    """Why the check is not acted on: at least one real sentence, whitespace collapsed."""
    detail: str | None = None
    """A glob over the finding's detail text (case-sensitive); None accepts any detail."""

    def matches(self, finding: Finding) -> bool:
        """Whether this entry suppresses a (failed) finding."""
        if finding.check_id != self.check:
            return False
        if self.envs is not None and _stack_of(finding.urn) not in self.envs:
            return False
        if self.detail is not None and not fnmatch.fnmatchcase(finding.detail, self.detail):
            return False
        return any(s.matches(finding.urn) for s in self.selectors)


def _stack_of(urn: str) -> str:
    return urn.split("::")[0].removeprefix("urn:pulumi:") if urn.startswith("urn:pulumi:") else ""


def reason_problem(reason: Any) -> str | None:
    """Why a reason is not an acceptable sentence, or None when it is."""
    if not isinstance(reason, str):
        return "the reason must be text"
    text = " ".join(reason.split())
    if len(text) < MIN_REASON:
        return f"the reason must be at least {MIN_REASON} characters"
    if not text[0].isupper() or not text.endswith("."):
        return "the reason must be a sentence: a capital letter first, a full stop last"
    if len(text.split()) < 6:
        return "the reason must be a real sentence (six words or more)"
    return None


def _environment_classes() -> dict[str, str]:
    from shared.config import environments

    return {name: env.environment_class.name for name, env in environments().items()}


def _stacks(entry: Mapping[str, Any], where: str, classes_of: Mapping[str, str]) -> frozenset[str] | None:
    """The stacks an entry's ``envs`` or ``classes`` name (None: every stack), each checked against the matrix."""
    if "envs" in entry and "classes" in entry:
        raise SuppressionError(f"{where}: name `envs` or `classes`, not both")
    key = "classes" if "classes" in entry else "envs"
    if key not in entry:
        return None
    known = sorted(set(classes_of.values())) if key == "classes" else list(classes_of)
    named = entry[key]
    what = "environment classes" if key == "classes" else "environments"
    if not isinstance(named, list) or not named or not all(isinstance(n, str) for n in named):
        raise SuppressionError(f"{where}: `{key}` must be a non-empty list of {what} ({', '.join(known)})")
    unknown = [n for n in named if n not in known]
    if unknown:
        raise SuppressionError(
            f"{where}: `{key}` names {', '.join(unknown)}, not in shared/environment_matrix.yaml "
            f"(known {what}: {', '.join(known)})"
        )
    if key == "envs":
        return frozenset(named)
    return frozenset(env for env, env_class in classes_of.items() if env_class in named)


def parse_suppressions(data: Any, classes_of: Mapping[str, str] | None = None) -> list[Suppression]:
    """Validated entries from the parsed YAML document; raises SuppressionError naming the bad entry.

    ``classes_of`` maps each environment to its class (default: shared/environment_matrix.yaml's).
    """
    classes_of = _environment_classes() if classes_of is None else classes_of
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) != {"suppressions"}:
        raise SuppressionError("the file must hold one key, `suppressions:`, with a list of entries")
    entries = data["suppressions"] or []
    if not isinstance(entries, list):
        raise SuppressionError("`suppressions:` must be a list")
    result: list[Suppression] = []
    for i, entry in enumerate(entries, 1):
        where = f"suppression #{i}"
        if not isinstance(entry, dict):
            raise SuppressionError(f"{where}: must be a mapping")
        unknown = set(entry) - {"check", "resources", "envs", "classes", "detail", "reason"}
        if unknown:
            raise SuppressionError(f"{where}: unknown keys {sorted(unknown)}")
        check = entry.get("check")
        if not isinstance(check, str) or not _CHECK_RE.match(check):
            raise SuppressionError(f"{where}: `check` must be one check id such as CKV_AWS_18")
        where = f"suppression #{i} ({check})"
        resources = entry.get("resources")
        if not isinstance(resources, list) or not resources:
            raise SuppressionError(f"{where}: `resources` must list at least one resource; no global skips")
        selectors: list[Selector] = []
        for sel in resources:
            if not isinstance(sel, dict) or set(sel) not in ({"urn"}, {"file"}, {"name", "type"}):
                raise SuppressionError(
                    f"{where}: each resource is {{urn: ...}}, {{name: ..., type: ...}} or {{file: ...}}"
                )
            if any(not isinstance(v, str) or v.strip("*") == "" for v in sel.values()):
                raise SuppressionError(f"{where}: a resource pattern must name something, not only `*`")
            selectors.append(Selector(**sel))
        envs = _stacks(entry, where, classes_of)
        detail = entry.get("detail")
        if detail is not None and (not isinstance(detail, str) or detail.strip("*") == ""):
            raise SuppressionError(f"{where}: `detail` must be a glob over the finding's detail that names something")
        if detail is None and _PARLIAMENT_CHECK_RE.match(check):
            raise SuppressionError(
                f"{where}: a parliament entry needs `detail`, a glob over the finding's detail such as "
                "'*Unknown prefix s3vectors *', so it cannot hide other problems under the same check id"
            )
        problem = reason_problem(entry.get("reason"))
        if problem:
            raise SuppressionError(f"{where}: {problem}")
        reason = " ".join(str(entry["reason"]).split())
        result.append(Suppression(i, check, tuple(selectors), envs, reason, detail))
    return result


def load_suppressions(path: Path = DEFAULT_FILE) -> list[Suppression]:
    """The validated entries of a suppressions file (none when the file does not exist)."""
    if not path.exists():
        return []
    return parse_suppressions(yamlio.load(path.read_text(encoding="utf-8")))


def apply(
    findings: list[Finding], suppressions: list[Suppression]
) -> tuple[list[Finding], list[tuple[Finding, Suppression]], list[str]]:
    """Split failed findings into (unsuppressed, suppressed-with-entry) and list the stale entries and selectors."""
    failed = [f for f in findings if not f.passed]
    open_: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    used: set[tuple[int, int]] = set()
    for finding in failed:
        entry = next((s for s in suppressions if s.matches(finding)), None)
        if entry is None:
            open_.append(finding)
            continue
        suppressed.append((finding, entry))
        for j, sel in enumerate(entry.selectors):
            if sel.matches(finding.urn):
                used.add((entry.index, j))
    stale = [
        f"suppression #{s.index} ({s.check}) matches no finding for {sel.describe()}"
        + (f" with detail {s.detail!r}" if s.detail is not None else "")
        for s in suppressions
        for j, sel in enumerate(s.selectors)
        if (s.index, j) not in used
    ]
    return open_, suppressed, stale

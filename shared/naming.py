"""Resource names: ``{project}-{environment}-{resource}``, S3-valid bucket names, and secret paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LABEL = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class NamingError(ValueError):
    """A generated name would be rejected by AWS."""


@dataclass(frozen=True)
class ResourceNamer:
    """Builds every physical name from the project and environment, so names never drift between layers."""

    project: str
    """The project slug, e.g. student-helper."""
    environment: str
    """dev, staging or prod."""

    def __post_init__(self) -> None:
        for part in (self.project, self.environment):
            if not _LABEL.match(part):
                raise NamingError(f"'{part}' must be lower-case letters, digits and single hyphens")

    @property
    def prefix(self) -> str:
        """``{project}-{environment}``."""
        return f"{self.project}-{self.environment}"

    def name(self, resource: str = "") -> str:
        """``{project}-{environment}-{resource}``, or the prefix alone."""
        return f"{self.prefix}-{resource}" if resource else self.prefix

    def bucket_name(self, suffix: str, account_id: str = "") -> str:
        """A valid S3 bucket name; the account id, when given, keeps the global name unique per account."""
        name = "-".join(part for part in (self.prefix, suffix, account_id) if part)
        problems = []
        if not 3 <= len(name) <= 63:
            problems.append(f"is {len(name)} characters long (allowed: 3 to 63)")
        if name != name.lower():
            problems.append("has upper-case letters (allowed: lower case only)")
        if "_" in name:
            problems.append("contains '_' (allowed: letters, digits, '-' and '.')")
        if not problems and (not _BUCKET_NAME.match(name) or ".." in name or name.startswith("xn--")):
            problems.append("is not a valid S3 bucket name (letters, digits, '-', '.', alphanumeric at both ends)")
        if problems:
            raise NamingError(f"bucket name '{name}' " + "; ".join(problems))
        return name

    def secret_name(self, name: str) -> str:
        """The Secrets Manager path ``{project}/{environment}/{name}``."""
        if not _LABEL.match(name):
            raise NamingError(f"secret name '{name}' must be lower-case letters, digits and single hyphens")
        return f"{self.project}/{self.environment}/{name}"

"""Resource names: ``{project}-{environment}-{resource}``, S3-valid bucket names, secret and parameter paths.

Who makes names, in every layer: the layer program (``stacks/<layer>/__main__.py``) makes each physical name with
:class:`ResourceNamer` and passes it to a component as a string field (``bucket_name``, ``identifier``,
``role_name``, ...); no component sees the namer, the project or the environment. A component can then be built
in a test with any names, and a name's rule lives here only.

A component still names its children for Pulumi (the logical names in URNs), the awsx way: a fixed suffix on a
name it was given, whether the child's own physical name (which then doubles as its logical name), the name of the
resource it serves (``{repository}-lifecycle``), or ``name_prefix`` (:attr:`ResourceNamer.prefix`) for children
without a name of their own (subnets, rules, routes). The suffixes are those the URNs have always had: a renamed
child is a replaced resource. Names that AWS itself derives from another (``/aws/lambda/<function>``,
``/aws/rds/instance/<id>/<log>``) are derived where that other name is used.
"""

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

    def path(self, name: str) -> str:
        """The hierarchy ``/{project}/{environment}/{name}`` of SSM parameters and log groups."""
        if not _LABEL.match(name):
            raise NamingError(f"path name '{name}' must be lower-case letters, digits and single hyphens")
        return f"/{self.project}/{self.environment}/{name}"

    def secret_name(self, name: str) -> str:
        """The Secrets Manager path ``{project}/{environment}/{name}``."""
        if not _LABEL.match(name):
            raise NamingError(f"secret name '{name}' must be lower-case letters, digits and single hyphens")
        return f"{self.project}/{self.environment}/{name}"

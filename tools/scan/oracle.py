"""Reference data read from the pinned scanners' own packages in .venv-scan (read as data files, never imported).

checkov ships the list of Terraform AWS resource types it knows; cfn-lint ships AWS's CloudFormation resource
schemas. The translation uses them to pick Terraform type names and CloudFormation property spellings. Reading the
files instead of importing the packages keeps checkov's old pinned libraries out of the project venv.
"""

from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.scan.venv import SCAN_VENV, site_packages


@dataclass(frozen=True)
class Oracle:
    """What the scanners know: Terraform AWS resource types and CloudFormation resource schemas."""

    tf_types: frozenset[str] = frozenset()
    """The Terraform AWS resource types checkov knows, used to pick among candidate type names."""
    cfn_schema_dir: Path | None = None
    """cfn-lint's CloudFormation schema directory; None when no schemas are available."""
    cfn_types: dict[str, str] = field(default_factory=dict)
    """CloudFormation type → its schema file name (without ``.json``) under ``resources/``."""

    def cfn_schema(self, cfn_type: str) -> dict[str, Any] | None:
        """The CloudFormation resource schema of ``cfn_type`` (None when cfn-lint does not know it)."""
        if self.cfn_schema_dir is None or cfn_type not in self.cfn_types:
            return None
        return _load_json(self.cfn_schema_dir / "resources" / f"{self.cfn_types[cfn_type]}.json")


@functools.cache
def _load_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@functools.cache
def load_oracle(venv: Path = SCAN_VENV) -> Oracle:
    """The oracle from an installed scan venv; raises FileNotFoundError when the venv lacks checkov or cfn-lint."""
    site = site_packages(venv)
    types_file = site / "checkov" / "common" / "checks_infra" / "resources_types.py"
    tree = ast.parse(types_file.read_text(encoding="utf-8"))
    assign = next(node for node in tree.body if isinstance(node, ast.Assign))
    tf_types = frozenset(ast.literal_eval(assign.value)["aws"])
    # cfn-lint keeps one schema per type and one index per region; us-east-1 has the widest coverage.
    schema_dir = site / "cfnlint" / "data" / "schemas"
    cfn_types = _load_json(schema_dir / "providers" / "us-east-1.json")
    return Oracle(tf_types=tf_types, cfn_schema_dir=schema_dir, cfn_types=dict(cfn_types))

"""Generate policies/config.json, this project's policy pack config, from the environment matrix.

Both of its entries depend on the environments, so adding one must not mean editing the file by hand:

- ``s3-tls-only``: every environment's frontend bucket is exempt from ``deny-insecure-transport`` in the data
  layer's export, because its only bucket policy (CloudFront OAC read plus the TLS-only deny) belongs to the edge
  layer, whose export the check cannot see from the data layer's;
- ``prod-data-protection``: ``productionStacks`` lists the production-class environments.

    python -m tools.pack_config           # rewrite policies/config.json
    python -m tools.pack_config --check   # exit 1 when it is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.config import PRODUCTION, environments
from shared.constants import PROJECT
from shared.naming import ResourceNamer
from tools.generated import write_or_check

PATH = Path(__file__).resolve().parents[1] / "policies" / "config.json"
GENERATOR = "python -m tools.pack_config"
FRONTEND_REASON = (
    "The edge layer owns this bucket's only policy (CloudFront OAC read plus the TLS-only deny), because a bucket has "
    "one policy; the data layer's export cannot show it, and s3-tls-only judges that policy in the edge layer."
)


def render() -> dict[str, Any]:
    """The pack config for the matrix's environments."""
    envs = environments()
    return {
        "s3-tls-only": {
            "exemptions": [
                {
                    "resource": ResourceNamer(PROJECT, name).name("frontend"),
                    "check": "deny-insecure-transport",
                    "reason": FRONTEND_REASON,
                }
                for name in envs
            ]
        },
        "prod-data-protection": {
            "productionStacks": [name for name, env in envs.items() if env.environment_class.name == PRODUCTION]
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite policies/config.json, or with ``--check`` exit 1 when it is stale."""
    parser = argparse.ArgumentParser(prog=GENERATOR, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if the file is stale")
    args = parser.parse_args(argv)
    return write_or_check(PATH, json.dumps(render(), indent=2) + "\n", args.check, GENERATOR)


if __name__ == "__main__":
    sys.exit(main())

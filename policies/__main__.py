"""Entry point the Pulumi CLI runs: builds the PolicyPack from the registry and nothing else.

The PolicyPack constructor starts the analyzer's gRPC server and blocks, so no rule lives here.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.registry import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=list(POLICIES), enforcement_level=EnforcementLevel.ADVISORY)

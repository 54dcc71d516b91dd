"""Real deployments with the Pulumi CLI: the engine behind the Makefile's per-layer and all-layer targets."""

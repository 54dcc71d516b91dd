"""``make check``: the offline preview, the policy pack, the scans, the cost estimate and the diagram, reported."""

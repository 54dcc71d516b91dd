"""The Student Helper CrossGuard policy pack: rules by area, one registry, and a __main__ that serves the pack."""

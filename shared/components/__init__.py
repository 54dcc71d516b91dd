"""The layers' components: each takes a frozen dataclass of exactly the values it uses, never the environment's
whole config, and every name in it comes from the layer program (who makes which name: shared/naming.py)."""

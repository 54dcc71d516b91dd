"""Stand-in executables for the CLIs the Makefile, the README and the workflows drive (pulumi, aws, docker, gh): they
record calls and answer plausibly."""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = {"pulumi": "pulumi_cli.py", "aws": "aws_cli.py", "docker": "docker_cli.py", "gh": "gh_cli.py"}


def install(directory: Path) -> Path:
    """Write ``pulumi``, ``aws``, ``docker`` and ``gh`` executables into ``directory`` (put it first on PATH, or point
    ``PULUMI`` at its ``pulumi``); each runs its script with this interpreter."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, script in SCRIPTS.items():
        executable = directory / name
        # -S: the scripts need nothing from site-packages, and a stand-in called a dozen times per target adds up.
        executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{Path(__file__).parent / script}" "$@"\n')
        executable.chmod(0o755)
    return directory

"""Which state backend the CLI uses, and the Pulumi CLI invocations every target shares."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.contract import Layer

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_STATE_DIR = ".pulumi-state"
# Self-managed ("DIY") backends keep state in object storage or files and encrypt secrets with a passphrase or a
# cloud KMS key; anything else is a Pulumi Cloud URL (https://api.pulumi.com or a self-hosted service).
SELF_MANAGED_SCHEMES = ("file://", "s3://", "azblob://", "gs://")


@dataclass(frozen=True)
class Backend:
    """The state backend every layer of this run uses."""

    url: str
    """The backend URL handed to the CLI as ``PULUMI_BACKEND_URL``."""
    embedded: bool
    """True for the repository's own file backend, used when ``PULUMI_BACKEND_URL`` is unset."""

    @property
    def self_managed(self) -> bool:
        """Whether state lives outside Pulumi Cloud (stack org is then always ``organization``)."""
        return self.url.startswith(SELF_MANAGED_SCHEMES)


def resolve_backend(environ: Mapping[str, str], repo_root: Path = REPO_ROOT) -> Backend:
    """``PULUMI_BACKEND_URL`` when set; otherwise a file backend inside the repository (git-ignored)."""
    url = environ.get("PULUMI_BACKEND_URL", "").strip()
    if url:
        return Backend(url=url, embedded=False)
    return Backend(url=f"file://{repo_root / LOCAL_STATE_DIR}", embedded=True)


@dataclass(frozen=True)
class PulumiCli:
    """One Pulumi CLI executable bound to one backend; every call runs from the repository root."""

    executable: str
    """The CLI to run (``PULUMI`` in the Makefile; the tests point it at a stand-in)."""
    backend: Backend
    """The backend exported to every call as ``PULUMI_BACKEND_URL``."""
    repo_root: Path = REPO_ROOT
    """Where ``stacks/<layer>`` lives."""

    def environ(self) -> dict[str, str]:
        """The process environment with the backend pinned, so no call can drift to another login."""
        return {**os.environ, "PULUMI_BACKEND_URL": self.backend.url}

    def run(self, args: Sequence[str], capture: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the CLI; with ``capture`` stdout is returned (stderr always reaches the user)."""
        return subprocess.run(
            [self.executable, *args],
            cwd=self.repo_root,
            env=self.environ(),
            stdout=subprocess.PIPE if capture else None,
            text=True,
            check=False,
        )

    def login(self) -> subprocess.CompletedProcess[str]:
        """Log in to the embedded file backend, creating its directory (a no-op for other backends)."""
        if not self.backend.embedded:
            return subprocess.CompletedProcess([self.executable, "login"], 0, "", "")
        (self.repo_root / LOCAL_STATE_DIR).mkdir(exist_ok=True)
        return self.run(["login", self.backend.url], capture=True)


def layer_cwd(layer: Layer) -> str:
    """The ``--cwd`` of a layer's project, relative to the repository root."""
    return f"stacks/{layer.value}"

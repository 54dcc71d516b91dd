"""``make doctor``: can this machine deploy ``ENV``? Each check says what is wrong and exactly what to do."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from shared.config import ConfigReader
from shared.contract import Layer
from shared.settings import read_image_tags
from tools.deploy.backend import REPO_ROOT, PulumiCli, layer_cwd
from tools.offline.runner import cli_config

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Check:
    """The result of one doctor check."""

    name: str
    """What was checked."""
    status: str
    """``ok``, ``FAIL`` or ``skip`` (cannot be checked yet, and why)."""
    detail: str
    """What was found, and for a failure what to do about it."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``v3.272.0`` (or ``3.272.0-dev``) -> (3, 272, 0)."""
    match = _VERSION.search(text)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def minimum_cli_version(pyproject: Path = REPO_ROOT / "pyproject.toml") -> tuple[int, int, int]:
    """The pinned Python SDK's version: a CLI older than the SDK may lack engine features the SDK relies on."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pin = next(d for d in dependencies if d.startswith("pulumi=="))
    version = parse_version(pin)
    assert version is not None, pin
    return version


def check_cli(cli: PulumiCli) -> Check:
    """The CLI is on PATH and at least the pinned SDK version."""
    wanted = ".".join(map(str, minimum_cli_version()))
    install = f"install it: curl -fsSL https://get.pulumi.com | sh -s -- --version {wanted} (or set PULUMI=<path>)"
    if shutil.which(cli.executable) is None:
        return Check("pulumi CLI", "FAIL", f"'{cli.executable}' not found; {install}")
    done = cli.run(["version"], capture=True)
    found = parse_version(done.stdout or "")
    if done.returncode != 0 or found is None:
        return Check("pulumi CLI", "FAIL", f"'{cli.executable} version' failed ({done.returncode}); {install}")
    if found < minimum_cli_version():
        have = ".".join(map(str, found))
        return Check("pulumi CLI", "FAIL", f"v{have} is older than v{wanted} (the pinned SDK); {install}")
    return Check("pulumi CLI", "ok", f"v{'.'.join(map(str, found))} (>= v{wanted})")


def stack_regions(env: str, stacks_dir: Path = REPO_ROOT / "stacks") -> dict[str, str]:
    """``aws:region`` of each layer's stack file (every stack file must set it)."""
    regions = {}
    for layer in Layer:
        config, _ = cli_config(stacks_dir / layer.value, env)
        regions[layer.value] = config.get("aws:region", "")
    return regions


def check_aws(env: str, aws: str, run: Callable[[Sequence[str]], subprocess.CompletedProcess[str]]) -> Check:
    """Every layer names the same region, and credentials resolve to an account in it."""
    regions = stack_regions(env)
    distinct = sorted(set(regions.values()))
    if len(distinct) != 1 or not distinct[0]:
        found = ", ".join(f"{layer}={region or '<unset>'}" for layer, region in regions.items())
        return Check(
            "AWS region",
            "FAIL",
            f"the layers' Pulumi.{env}.yaml files must name one region; found {found}; "
            "fix: pulumi config set aws:region <region> --cwd stacks/<layer> --stack " + env,
        )
    region = distinct[0]
    if shutil.which(aws) is None:
        return Check(
            "AWS credentials", "FAIL", f"'{aws}' not found: install the AWS CLI v2 (also needed to push images)"
        )
    done = run([aws, "sts", "get-caller-identity", "--region", region, "--output", "json"])
    if done.returncode != 0:
        return Check(
            "AWS credentials",
            "FAIL",
            f"no credentials resolve in {region}: run 'aws sso login' or 'aws configure', or set AWS_PROFILE",
        )
    account = json.loads(done.stdout or "{}").get("Account", "?")
    return Check("AWS credentials", "ok", f"account {account}, region {region}")


def passphrase_layers(env: str, environ: dict[str, str], stacks_dir: Path = REPO_ROOT / "stacks") -> list[str]:
    """Layers whose stack needs PULUMI_CONFIG_PASSPHRASE on a self-managed backend.

    A stack file records its secrets provider: ``encryptionsalt`` for a passphrase stack, ``secretsprovider``
    (awskms://...) for a KMS one. A stack not created yet gets ``SECRETS_PROVIDER`` when set, else a passphrase.
    """
    needing = []
    for layer in Layer:
        path = stacks_dir / layer.value / f"Pulumi.{env}.yaml"
        document = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        provider = str(document.get("secretsprovider", ""))
        if (
            "encryptionsalt" in document
            or provider.startswith("passphrase")
            or (not provider and not environ.get("SECRETS_PROVIDER"))
        ):
            needing.append(layer.value)
    return needing


def check_backend(cli: PulumiCli, environ: dict[str, str], env: str) -> Check:
    """The backend is reachable and logged in; a self-managed backend also has a way to encrypt secrets."""
    backend = cli.backend
    if backend.self_managed and not (
        environ.get("PULUMI_CONFIG_PASSPHRASE") or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        needing = passphrase_layers(env, environ)
        if needing:
            return Check(
                "state backend",
                "FAIL",
                f"{backend.url} is self-managed and the {', '.join(needing)} stack(s) use a passphrase: set "
                "PULUMI_CONFIG_PASSPHRASE (or _FILE), or SECRETS_PROVIDER=awskms://alias/<key>?region=<region> "
                "before their first deploy",
            )
    if backend.embedded:
        return Check("state backend", "ok", f"{backend.url} (embedded; the Makefile logs in to it)")
    done = cli.run(["whoami", "--verbose"], capture=True)
    if done.returncode != 0:
        fix = (
            "export PULUMI_ACCESS_TOKEN=<token> or run: pulumi login " + backend.url
            if not backend.self_managed
            else "check the bucket exists and your credentials can read it: pulumi login " + backend.url
        )
        return Check("state backend", "FAIL", f"not logged in to {backend.url}: {fix}")
    return Check("state backend", "ok", f"logged in to {backend.url}")


def check_image_tags(env: str, stacks_dir: Path = REPO_ROOT / "stacks") -> tuple[Check, tuple[str, str] | None]:
    """The compute layer's image tags are set and valid (the same rules the program applies)."""
    config, _ = cli_config(stacks_dir / Layer.COMPUTE.value, env)
    reader = ConfigReader(env, Layer.COMPUTE.project, config, {})
    tags = read_image_tags(reader)
    if reader.problems:
        where = f"stacks/compute/Pulumi.{env}.yaml"
        return Check("image tags", "FAIL", f"{where}: " + "; ".join(reader.problems)), None
    return Check("image tags", "ok", f"backend {tags[0]}, processor {tags[1]}"), tags


def check_images_pushed(
    env: str,
    tags: tuple[str, str],
    cli: PulumiCli,
    aws: str,
    region: str,
    run: Callable[[Sequence[str]], subprocess.CompletedProcess[str]],
) -> Check:
    """Both tags exist in the data layer's ECR repositories, when that layer is deployed."""
    done = cli.run(["stack", "output", "--json", "--cwd", layer_cwd(Layer.DATA), "--stack", env], capture=True)
    outputs = json.loads(done.stdout or "{}") if done.returncode == 0 else {}
    if not outputs:
        return Check("images pushed", "skip", f"data [{env}] is not deployed yet, so its repositories do not exist")
    if shutil.which(aws) is None:
        return Check("images pushed", "skip", f"'{aws}' not found")
    missing = []
    for output, tag in (("backend_ecr_repository", tags[0]), ("lambda_ecr_repository", tags[1])):
        repository = str(outputs.get(output, "")).split("/", 1)[-1]
        image = ["--repository-name", repository, "--image-ids", f"imageTag={tag}"]
        found = run([aws, "ecr", "describe-images", "--region", region, *image])
        if found.returncode != 0:
            missing.append(f"{repository}:{tag}")
    if missing:
        return Check(
            "images pushed",
            "FAIL",
            f"not in ECR: {', '.join(missing)}; push them first (README, 'Pushing the images')",
        )
    return Check("images pushed", "ok", "both tags are in their repositories")


def diagnose(env: str, cli: PulumiCli, aws: str, environ: dict[str, str]) -> list[Check]:
    """Every check, in the order a first deploy needs them."""

    def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(command), capture_output=True, text=True, check=False, env=cli.environ())

    checks = [check_cli(cli), check_aws(env, aws, run), check_backend(cli, environ, env)]
    tag_check, tags = check_image_tags(env)
    checks.append(tag_check)
    regions = set(stack_regions(env).values())
    if tags is not None and checks[0].status == "ok" and len(regions) == 1:
        checks.append(check_images_pushed(env, tags, cli, aws, regions.pop(), run))
    return checks

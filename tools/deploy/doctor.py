"""``make doctor``: can this machine deploy ``ENV``, and can the account take it? Each check says what to do.

The local checks (CLI, stack files, backend, image tags) live here; the account checks (credentials, images in
ECR, Lambda concurrency, Bedrock model access, endpoint services) in :mod:`tools.deploy.account`, with boto3.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from shared import yamlio
from shared.config import ConfigReader, EnvironmentConfig, environments, read_environment
from shared.constants import PROCESSOR_FUNCTION, PROJECT
from shared.contract import Layer
from shared.naming import ResourceNamer
from shared.settings import no_settings, read_compute_settings, read_data_settings, read_image_tags
from tools.deploy import account
from tools.deploy.backend import REPO_ROOT, PulumiCli, layer_cwd
from tools.deploy.checks import Check
from tools.offline.stack_files import cli_config

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")
S = TypeVar("S")


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


def install_hint() -> str:
    """How to install the CLI at the pinned SDK's version; every target that needs the CLI says this."""
    wanted = ".".join(map(str, minimum_cli_version()))
    return f"install it: curl -fsSL https://get.pulumi.com | sh -s -- --version {wanted} (or set PULUMI=<path>)"


def cli_missing(executable: str) -> str | None:
    """One line saying the CLI is not there and how to install it, or None when it is on PATH."""
    if shutil.which(executable) is not None:
        return None
    return f"the Pulumi CLI '{executable}' was not found; {install_hint()}"


def check_cli(cli: PulumiCli) -> Check:
    """The CLI is on PATH and at least the pinned SDK version."""
    wanted = ".".join(map(str, minimum_cli_version()))
    install = install_hint()
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


def check_region(env: str, stacks_dir: Path = REPO_ROOT / "stacks") -> tuple[Check, str | None]:
    """Every layer's stack file names the same ``aws:region``: the region every AWS check and deploy uses."""
    regions = stack_regions(env, stacks_dir)
    distinct = sorted(set(regions.values()))
    if len(distinct) != 1 or not distinct[0]:
        found = ", ".join(f"{layer}={region or '<unset>'}" for layer, region in regions.items())
        return (
            Check(
                "AWS region",
                "FAIL",
                f"the layers' Pulumi.{env}.yaml files must name one region; found {found}; "
                "fix: pulumi config set aws:region <region> --cwd stacks/<layer> --stack " + env,
            ),
            None,
        )
    return Check("AWS region", "ok", f"{distinct[0]} (every layer's aws:region)"), distinct[0]


def passphrase_layers(env: str, environ: dict[str, str], stacks_dir: Path = REPO_ROOT / "stacks") -> list[str]:
    """Layers whose stack needs PULUMI_CONFIG_PASSPHRASE on a self-managed backend.

    A stack file records its secrets provider: ``encryptionsalt`` for a passphrase stack, ``secretsprovider``
    (awskms://...) for a KMS one. A stack not created yet gets ``SECRETS_PROVIDER`` when set, else a passphrase.
    """
    needing = []
    for layer in Layer:
        path = stacks_dir / layer.value / f"Pulumi.{env}.yaml"
        document = (yamlio.load(path.read_text()) if path.exists() else None) or {}
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
    if shutil.which(cli.executable) is None:
        return Check("state backend", "skip", f"{backend.url}: the login is checked with the Pulumi CLI")
    done = cli.run(["whoami", "--verbose"], capture=True)
    if done.returncode != 0:
        fix = (
            "export PULUMI_ACCESS_TOKEN=<token> or run: pulumi login " + backend.url
            if not backend.self_managed
            else "check the bucket exists and your credentials can read it: pulumi login " + backend.url
        )
        return Check("state backend", "FAIL", f"not logged in to {backend.url}: {fix}")
    return Check("state backend", "ok", f"logged in to {backend.url}")


def layer_settings(
    env: str,
    layer: Layer,
    read: Callable[[ConfigReader, EnvironmentConfig], S],
    stacks_dir: Path = REPO_ROOT / "stacks",
) -> tuple[EnvironmentConfig, S, list[str]]:
    """A layer's settings read from its stack file with the program's own rules, and the problems found."""
    config, _ = cli_config(stacks_dir / layer.value, env)
    reader = ConfigReader(env, layer.project, config, {})
    environment = read_environment(reader)
    return environment, read(reader, environment), reader.problems


def check_image_tags(env: str, stacks_dir: Path = REPO_ROOT / "stacks") -> tuple[Check, tuple[str, str] | None]:
    """The compute layer's image tags are set and valid (the same rules the program applies)."""
    config, _ = cli_config(stacks_dir / Layer.COMPUTE.value, env)
    reader = ConfigReader(env, Layer.COMPUTE.project, config, {})
    tags = read_image_tags(reader)
    if reader.problems:
        where = f"stacks/compute/Pulumi.{env}.yaml"
        return Check("image tags", "FAIL", f"{where}: " + "; ".join(reader.problems)), None
    return Check("image tags", "ok", f"backend {tags[0]}, processor {tags[1]}"), tags


def data_repositories(cli: PulumiCli, env: str, tags: tuple[str, str]) -> list[tuple[str, str]] | None:
    """``(repository, tag)`` for the backend and processor images, or None while the data layer is not deployed."""
    done = cli.run(["stack", "output", "--json", "--cwd", layer_cwd(Layer.DATA), "--stack", env], capture=True)
    outputs = json.loads(done.stdout or "{}") if done.returncode == 0 else {}
    if not outputs:
        return None
    pairs = (("backend_ecr_repository", tags[0]), ("lambda_ecr_repository", tags[1]))
    return [(str(outputs.get(output, "")).split("/", 1)[-1], tag) for output, tag in pairs]


def first_problem(problems: list[str], project: str, *keys: str) -> str | None:
    """The first of a layer's config problems that concerns one of ``keys``."""
    names = tuple(f"{project}:{key}" for key in keys)
    return next((problem for problem in problems if problem.startswith(names)), None)


def account_checks(env: str, region: str, clients: account.Clients, stacks_dir: Path) -> list[Check]:
    """What a fresh account trips on, for what this environment's stack files ask for."""
    checks: list[Check] = []
    network, _, problems = layer_settings(env, Layer.NETWORK, no_settings, stacks_dir)
    problem = first_problem(problems, Layer.NETWORK.project, "interface_endpoints", "endpoint_az_count")
    checks.append(
        Check("endpoint services", "FAIL", f"stacks/network/Pulumi.{env}.yaml: {problem}")
        if problem
        else account.check_endpoint_services(clients, region, network.interface_endpoints, network.endpoint_az_count)
    )
    _, compute, problems = layer_settings(env, Layer.COMPUTE, read_compute_settings, stacks_dir)
    project = Layer.COMPUTE.project
    problem = first_problem(problems, project, "processor_max_concurrency", "lambda_reserved_concurrency")
    checks.append(
        Check("Lambda concurrency", "FAIL", f"stacks/compute/Pulumi.{env}.yaml: {problem}")
        if problem
        else account.check_lambda_concurrency(
            clients,
            ResourceNamer(PROJECT, env).name(PROCESSOR_FUNCTION),
            compute.processor_max_concurrency,
            compute.lambda_reserved_concurrency,
        )
    )
    problem = first_problem(problems, project, "chat_model_id")
    checks.append(
        Check("chat model", "FAIL", f"stacks/compute/Pulumi.{env}.yaml: {problem}")
        if problem
        else account.check_model(clients, region, "chat model", compute.chat_model_id)
    )
    _, data, problems = layer_settings(env, Layer.DATA, read_data_settings, stacks_dir)
    problem = first_problem(problems, Layer.DATA.project, "embedding_model_id", "embedding_dimension")
    checks.append(
        Check("embedding model", "FAIL", f"stacks/data/Pulumi.{env}.yaml: {problem}")
        if problem
        else account.check_model(clients, region, "embedding model", data.embedding_model_id)
    )
    return checks


def diagnose(
    env: str,
    cli: PulumiCli,
    environ: dict[str, str],
    clients: Callable[[str], account.Clients] = account.boto3_clients,
    stacks_dir: Path = REPO_ROOT / "stacks",
) -> list[Check]:
    """Every check, in the order a first deploy needs them. ``clients`` makes the AWS clients for a region."""
    cli_check = check_cli(cli)
    region_check, region = check_region(env, stacks_dir)
    checks = [cli_check, region_check]
    if region is None:
        return [*checks, Check("AWS account", "skip", "the account checks need one region")]
    aws = clients(region)
    credentials_check, account_id = account.check_credentials(aws, region, env, environments()[env].account_id)
    checks += [credentials_check, check_backend(cli, environ, env)]
    tag_check, tags = check_image_tags(env, stacks_dir)
    checks.append(tag_check)
    if account_id is None:
        return [*checks, Check("AWS account", "skip", "the account checks need credentials")]
    if tags is not None and cli_check.status == "ok":
        images = data_repositories(cli, env, tags)
        checks.append(
            account.check_images_pushed(aws, images)
            if images is not None
            else Check("images pushed", "skip", f"data [{env}] is not deployed yet, so its repositories do not exist")
        )
    return checks + account_checks(env, region, aws, stacks_dir)

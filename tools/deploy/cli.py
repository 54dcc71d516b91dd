"""``python -m tools.deploy``: the Makefile's deploy targets. Every pulumi call goes through ``--pulumi``.

    check-env --env E [--needs-cli]         fail unless E is one of this repo's stacks (and the CLI and credentials
                                            a deploy needs are there)
    run {preview,up,refresh} --env E --layers "..." [--from L] [--downstream] [--yes]
    destroy --env E --layers "..." [--confirm E]
    outputs --env E [--out-dir DIR]
    doctor --env E
    region --env E                          print the one aws:region every layer's stack file for E names (CI reads
                                            it: an environment's region is its stack files', not a variable)

Layers always run in dependency order (reverse for destroy); the first failure stops the run and says how to
resume. Before any CLI call, a target that needs the Pulumi CLI or AWS credentials says in one line which is
missing and how to get it. Only doctor calls AWS itself; the CLI it drives does the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import environments
from shared.contract import LAYER_ORDER, Layer
from tools.deploy import account, doctor, guard
from tools.deploy import outputs as outputs_file
from tools.deploy.backend import REPO_ROOT, Backend, PulumiCli, layer_cwd, resolve_backend
from tools.offline.stack_files import OfflineError

ACTIONS = ("preview", "up", "refresh")


class UsageError(Exception):
    """A bad argument: reported on one line, exit code 2, before any pulumi call."""


def in_ci() -> bool:
    """Whether this runs in CI (GitHub Actions and most CI systems set ``CI=true``)."""
    return os.environ.get("CI", "").lower() in ("true", "1")


def say(target: str, message: str, err: bool = False) -> None:
    """One line, prefixed with the make target that printed it."""
    print(f"{target}: {message}", file=sys.stderr if err else sys.stdout, flush=True)


def check_prerequisites(
    executable: str, env: str, *, aws: bool, clients: Callable[[str], account.Clients] = account.boto3_clients
) -> None:
    """The CLI is installed and, when the target reaches AWS, credentials resolve, for the environment's account
    when the matrix names one; one line otherwise (as doctor)."""
    problem = doctor.cli_missing(executable) or (account.credentials_problem() if aws else None)
    expected = environments()[env].account_id
    if not problem and aws and expected is not None:
        region = doctor.stack_regions(env)[Layer.NETWORK.value]
        try:
            problem = account.account_mismatch(expected, account.current_account(clients(region)), env)
        except (ClientError, BotoCoreError) as error:
            problem = f"cannot tell which account the credentials are for ({account.error_text(error)})"
    if problem:
        raise UsageError(f"{problem}; make doctor ENV={env} checks all a deploy needs")


def needs_aws(command: str, backend: Backend) -> bool:
    """Whether a subcommand reaches AWS: previews, updates and destroys do; outputs only read state, which on an
    S3 backend is in AWS too."""
    return command in ("run", "destroy", "check-env") or (command == "outputs" and backend.url.startswith("s3://"))


def check_env(env: str, target: str) -> str:
    """``env`` when it is one of the stacks every layer has; a one-line usage error otherwise."""
    known = list(environments())
    allowed = "|".join(known)
    if not env:
        raise UsageError(f"ENV is required: make {target} ENV=<{allowed}>")
    if env not in known:
        raise UsageError(
            f"ENV='{env}' is not a stack of this repo: allowed {', '.join(known)} "
            "(each layer has stacks/<layer>/Pulumi.<env>.yaml)"
        )
    return env


def parse_layers(text: str, start: str = "", downstream: bool = False) -> list[Layer]:
    """The named layers in dependency order; ``start`` drops those before it, ``downstream`` adds those after."""
    known = [layer.value for layer in LAYER_ORDER]
    names = text.split()
    unknown = [name for name in [*names, *([start] if start else [])] if name not in known]
    if unknown or not names:
        raise UsageError(f"unknown layer {' '.join(unknown) or '<none>'}: allowed {', '.join(known)}")
    chosen = sorted({Layer(name) for name in names}, key=LAYER_ORDER.index)
    if downstream:
        chosen = list(LAYER_ORDER[LAYER_ORDER.index(chosen[0]) :])
    if start:
        if Layer(start) not in chosen:
            raise UsageError(f"FROM={start} is not one of the layers of this target: {' '.join(c for c in chosen)}")
        chosen = chosen[chosen.index(Layer(start)) :]
    return chosen


def resume_hint(target: str, env: str, layer: Layer) -> str:
    """The command that picks up where a failed run stopped (a destroy resumes by running again)."""
    if target.startswith("destroy"):
        return f"make {target} ENV={env} CONFIRM={env}"
    if target.endswith("-all"):
        return f"make {target} ENV={env} FROM={layer.value}"
    return f"make {target} ENV={env}"


class Runner:
    """Runs one target's pulumi calls for one environment."""

    def __init__(self, cli: PulumiCli, env: str, target: str) -> None:
        self.cli, self.env, self.target = cli, env, target
        self._outputs: dict[Layer, dict[str, Any] | None] = {}
        self._stacks: dict[Layer, bool] = {}

    @cached_property
    def region(self) -> str:
        """The environment's region, from the network stack file (every layer must name the same one)."""
        return doctor.stack_regions(self.env)[Layer.NETWORK.value]

    def login(self) -> None:
        """Log in to the embedded backend when PULUMI_BACKEND_URL is unset; say which backend is used.

        In CI the embedded backend would keep the state on a runner that is thrown away after the job, and the
        next run would create every resource again: refuse it there.
        """
        if self.cli.backend.embedded and in_ci():
            raise UsageError(
                "PULUMI_BACKEND_URL is unset in CI: the embedded file backend would lose this run's state with the "
                "runner; set it to s3://<bucket>/<prefix> or https://api.pulumi.com"
            )
        if self.cli.backend.embedded and environments()[self.env].environment_class.team_state:
            say(
                self.target,
                f"note: {self.env} state is kept only on this machine ({self.cli.backend.url}); "
                "a team sets PULUMI_BACKEND_URL (docs/deploying.md, State backends)",
            )
        done = self.cli.login()
        if done.returncode != 0:
            raise UsageError(f"could not log in to {self.cli.backend.url} (pulumi exited {done.returncode})")
        say(self.target, f"state backend {self.cli.backend.url}")

    def stack_args(self, layer: Layer) -> list[str]:
        """``--cwd stacks/<layer> --stack <env>``."""
        return ["--cwd", layer_cwd(layer), "--stack", self.env]

    def select(self, layer: Layer, secrets_provider: str) -> int:
        """Select the layer's stack, creating it (with the secrets provider, if any) when missing."""
        args = ["stack", "select", "--cwd", layer_cwd(layer), "--create", self.env]
        if secrets_provider:
            args += ["--secrets-provider", secrets_provider]
        return self.cli.run(args).returncode

    def stack_outputs(self, layer: Layer) -> dict[str, Any] | None:
        """The layer's deployed outputs (secrets masked), or None when it has no stack or no outputs."""
        if layer not in self._outputs:
            done = self.cli.run(["stack", "output", "--json", *self.stack_args(layer)], capture=True)
            parsed = json.loads(done.stdout or "null") if done.returncode == 0 else None
            self._outputs[layer] = parsed if isinstance(parsed, dict) and parsed else None
        return self._outputs[layer]

    def stack_exists(self, layer: Layer) -> bool:
        """Whether the layer's project has a stack for this environment in the backend."""
        if layer not in self._stacks:
            done = self.cli.run(["stack", "ls", "--json", "--cwd", layer_cwd(layer)], capture=True)
            if done.returncode != 0:
                raise UsageError(f"cannot list the stacks of {layer.value} (pulumi exited {done.returncode})")
            stacks = json.loads(done.stdout or "[]")
            self._stacks[layer] = any(str(s.get("name", "")).split("/")[-1] == self.env for s in stacks)
        return self._stacks[layer]


def run_action(runner: Runner, action: str, layers: list[Layer], args: argparse.Namespace) -> int:
    """preview / up / refresh each layer in order; stop at the first failure and say how to resume."""
    env, target = runner.env, runner.target
    runner.login()
    flags: list[str] = []
    if action in ("preview", "up"):
        flags += ["--policy-pack", str(REPO_ROOT / "policies")]
        if args.policy_config:
            config = Path(args.policy_config)
            config = config if config.is_absolute() else REPO_ROOT / config
            if not config.is_file():
                raise UsageError(f"POLICY_CONFIG={args.policy_config}: no such file (a pack config JSON object)")
            flags += ["--policy-pack-config", str(config)]
    if args.yes and action != "preview":
        flags.append("--yes")
    if action == "preview" and len(layers) > 1:
        say(target, "note: each preview reads its upstream layers' deployed outputs, not the ones a preview plans")
    done: list[str] = []
    for index, layer in enumerate(layers, start=1):
        if action == "preview":
            missing = [up for up in LAYER_ORDER[: LAYER_ORDER.index(layer)] if runner.stack_outputs(up) is None]
            if missing:
                rest = [layer.value for layer in layers[index - 1 :]]
                reason = (
                    f"skipped {', '.join(rest)} [{env}]: {layer.value} reads the outputs of "
                    f"{', '.join(m.value for m in missing)}, not deployed in {env} yet "
                    f"(deploy first: make up-{missing[0].value} ENV={env})"
                )
                if in_ci():
                    # In CI a skipped preview must not pass as a previewed change.
                    say(target, f"FAILED: nothing previewed for {', '.join(rest)}: {reason}", err=True)
                    return 1
                say(target, reason)
                break
        say(target, f"[{index}/{len(layers)}] pulumi {action} {layer.value} [{env}]")
        started = time.monotonic()
        code = runner.select(layer, args.secrets_provider)
        if code == 0:
            code = runner.cli.run([action, *runner.stack_args(layer), *flags]).returncode
        if code != 0:
            not_run = [later.value for later in layers[index:]]
            say(target, f"FAILED at {layer.value} [{env}]: pulumi {action} exited {code}", err=True)
            say(target, f"done: {', '.join(done) or 'none'}; not run: {', '.join(not_run) or 'none'}", err=True)
            say(target, f"fix the cause above, then resume with: {resume_hint(target, env, layer)}", err=True)
            return 1
        done.append(layer.value)
        say(target, f"{layer.value} [{env}] ok ({time.monotonic() - started:.0f}s)")
    say(target, f"{action}: {', '.join(done) or 'nothing'} [{env}] done")
    return 0


def confirm(target: str, env: str, layers: list[Layer], answer: str | None) -> bool:
    """The user typed the environment's name (or passed CONFIRM=<env>); never assumed."""
    if answer is None:
        if not sys.stdin.isatty():
            say(target, f"nothing destroyed: confirm by typing the environment name, or pass CONFIRM={env}", err=True)
            return False
        names = ", ".join(layer.value for layer in layers)
        try:
            answer = input(f"{target}: this deletes every resource of {names} in '{env}'. Type '{env}' to confirm: ")
        except EOFError:
            answer = ""
    if answer.strip() != env:
        say(target, f"nothing destroyed: '{answer.strip()}' is not '{env}'", err=True)
        return False
    return True


def destroy(runner: Runner, layers: list[Layer], answer: str | None) -> int:
    """Destroy ``layers`` in reverse order, after the confirmation and every guard has passed."""
    env, target = runner.env, runner.target
    layers = list(reversed(layers))
    if not confirm(target, env, layers, answer):
        return 2
    runner.login()
    existing = [layer for layer in layers if runner.stack_exists(layer)]
    for layer in layers:
        if layer not in existing:
            say(target, f"{layer.value} [{env}]: no stack, nothing to destroy")
    lowest = min((LAYER_ORDER.index(layer) for layer in existing), default=len(LAYER_ORDER))
    readers = [
        later
        for later in LAYER_ORDER[lowest + 1 :]
        if later not in layers and runner.stack_exists(later) and runner.stack_outputs(later) is not None
    ]
    if readers:
        names = ", ".join(r.value for r in readers)
        say(target, f"refusing: {names} [{env}] still deployed and reading these layers' outputs", err=True)
        say(target, f"destroy them first: make destroy-{readers[-1].value} ENV={env}, or make destroy-all", err=True)
        return 1
    blocked: list[tuple[Layer, guard.Protection]] = []
    kept: list[str] = []
    # In a production-class environment, any protection anywhere stops every destroy: taking down even one layer is
    # an outage, and it is the first step of a teardown that the protected layers would stop half way.
    every_layer = environments()[env].environment_class.destroy_checks_every_layer
    judged = [layer for layer in LAYER_ORDER if runner.stack_exists(layer)] if every_layer else existing
    for layer in judged:
        done = runner.cli.run(["stack", "export", *runner.stack_args(layer)], capture=True)
        if done.returncode != 0:
            say(target, f"cannot read the state of {layer.value} [{env}] (pulumi exited {done.returncode})", err=True)
            return 1
        export = json.loads(done.stdout)
        blocked += [(layer, p) for p in guard.protections(export, layer.value, env, runner.region)]
        if layer in existing:
            kept += guard.retained(export)
    if blocked:
        say(target, f"refusing: deletion protection is on in {env}; nothing was destroyed", err=True)
        for _, protection in blocked:
            say(target, f"  {protection.kind}: {protection.urn}", err=True)
        say(target, "to lift it, run in this order, then repeat this command:", err=True)
        steps = dict.fromkeys(step for _, p in blocked for step in p.lift)
        for number, step in enumerate(steps, start=1):
            say(target, f"  {number}. {step}", err=True)
        return 1
    for urn in kept:
        say(target, f"kept in AWS after destroy (retainOnDelete, its data survives): {urn}")
    for index, layer in enumerate(existing, start=1):
        say(target, f"[{index}/{len(existing)}] pulumi destroy {layer.value} [{env}]")
        code = runner.cli.run(["destroy", *runner.stack_args(layer), "--yes"]).returncode
        if code != 0:
            say(target, f"FAILED at {layer.value} [{env}]: pulumi destroy exited {code}", err=True)
            say(target, f"fix the cause above, then resume with: {resume_hint(target, env, layer)}", err=True)
            return 1
    say(target, f"destroyed: {', '.join(layer.value for layer in existing) or 'nothing'} [{env}]")
    return 0


def write_outputs(runner: Runner, out_dir: Path) -> int:
    """``infrastructure.env`` and ``infrastructure.json`` from the outputs of every layer deployed so far.

    A first deploy needs the data layer's outputs (the image repositories) before compute and edge exist, so the
    layers not deployed yet are named, in the files and on the terminal, rather than refused.
    """
    env, target = runner.env, runner.target
    runner.login()
    by_layer = {layer: found for layer in LAYER_ORDER if (found := runner.stack_outputs(layer)) is not None}
    if not by_layer:
        raise UsageError(f"nothing is deployed in {env} yet: deploy a layer first, e.g. make up-network ENV={env}")
    pending = [layer.value for layer in LAYER_ORDER if layer not in by_layer]
    region = doctor.stack_regions(env)[Layer.NETWORK.value]
    try:
        collected = outputs_file.collect(env, region, by_layer)
        header = f"Generated by `make outputs ENV={env}` from the {env} stacks. Do not edit; do not commit."
        if pending:
            header += f"\nNot deployed yet in {env}: {', '.join(pending)} (their outputs are missing below)."
        text = outputs_file.dotenv(collected, header)
    except outputs_file.OutputsError as error:
        raise UsageError(str(error)) from error
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "infrastructure.env").write_text(text)
    (out_dir / "infrastructure.json").write_text(outputs_file.as_json(collected, env, pending))
    say(
        target,
        f"wrote {out_dir / 'infrastructure.env'} and infrastructure.json: {len(collected.values)} values from "
        f"{', '.join(layer.value for layer in by_layer)}, {len(collected.secret_keys)} secret output(s) left out",
    )
    if pending:
        say(
            target,
            f"not deployed yet in {env}: {', '.join(pending)}; run make outputs ENV={env} again after "
            f"make up-{pending[0]} ENV={env} (or make deploy-all ENV={env})",
        )
    return 0


def print_region(env: str) -> int:
    """Print the region every layer's stack file of ``env`` names; a usage error when they disagree or one is unset."""
    try:
        check, region = doctor.check_region(env)
    except OfflineError as error:  # a layer without a stack file for env
        raise UsageError(f"{error} (an environment has one stack file per layer)") from error
    if region is None:
        raise UsageError(check.detail)
    print(region)
    return 0


def run_doctor(runner: Runner) -> int:
    """Print every check; exit 1 when any failed."""
    checks = doctor.diagnose(runner.env, runner.cli, dict(os.environ))
    for check in checks:
        print(f"  {check.status:<4}  {check.name:<18} {check.detail}")
    failed = [check.name for check in checks if check.status == "FAIL"]
    say(runner.target, f"{len(failed)} problem(s): {', '.join(failed)}" if failed else f"ready to deploy {runner.env}")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The command line the Makefile calls."""
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--pulumi", default="pulumi", help="the Pulumi CLI executable")
    parser.add_argument("--target", default="deploy", help="the make target, named in every message")
    parser.add_argument("--env", default="")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check-env")
    check.add_argument("--needs-cli", action="store_true", help="also the CLI and the AWS credentials a deploy needs")
    run = commands.add_parser("run")
    run.add_argument("action", choices=ACTIONS)
    run.add_argument("--layers", required=True)
    run.add_argument("--from", dest="start", default="")
    run.add_argument("--downstream", action="store_true", help="also every layer downstream of the first one named")
    run.add_argument("--yes", action="store_true", help="apply without prompting (deploy-all, CI)")
    run.add_argument("--policy-config", default="", help="passed as --policy-pack-config when set")
    run.add_argument("--secrets-provider", default="", help="for stacks this run creates")
    down = commands.add_parser("destroy")
    down.add_argument("--layers", required=True)
    down.add_argument("--confirm", default=None)
    out = commands.add_parser("outputs")
    out.add_argument("--out-dir", type=Path, default=REPO_ROOT)
    commands.add_parser("doctor")
    commands.add_parser("region", help="print the aws:region every layer's stack file names")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch one subcommand; a usage error is one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        env = check_env(args.env, args.target)
        if args.command == "region":  # reads the stack files only: no CLI, backend or credentials
            return print_region(env)
        backend = resolve_backend(os.environ)
        if args.command != "doctor" and (args.command != "check-env" or args.needs_cli):
            check_prerequisites(args.pulumi, env, aws=needs_aws(args.command, backend))
        if args.command == "check-env":
            return 0
        runner = Runner(PulumiCli(args.pulumi, backend), env, args.target)
        if args.command == "run":
            return run_action(runner, args.action, parse_layers(args.layers, args.start, args.downstream), args)
        if args.command == "destroy":
            return destroy(runner, parse_layers(args.layers), args.confirm)
        if args.command == "outputs":
            return write_outputs(runner, args.out_dir)
        return run_doctor(runner)
    except UsageError as error:
        say(args.target, str(error), err=True)
        return 2

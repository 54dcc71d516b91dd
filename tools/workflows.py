"""Generate the parts of the GitHub workflows that list environments or layers, from the environment matrix and the
layer order, so that adding an environment is data (docs/configuration.md, "Add an environment").

    python -m tools.workflows           # rewrite the generated sections of .github/workflows/*.yml
    python -m tools.workflows --check   # exit 1 when one is stale (a test runs this)

What is generated, each between a BEGIN and an END comment (tools/generated.py):
  - deploy.yml: the changes job's outputs and path filters (one per layer: its own stack, every stack upstream of it
    and what every layer runs), and one `up` job per environment and layer, in promotion order and inside it network
    -> data -> compute -> edge, each needing every job before it;
  - pull-request.yml: one preview job per layer, against the environment :func:`preview_environment` picks.
The rest of each file is written by hand. The jobs are text templates, not a YAML dump: a dump would lose the
comments that explain them, among them the `# why` that zizmor's pedantic persona wants on every permission.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared import yamlio
from shared.config import PRODUCTION, Environment, environments
from shared.contract import LAYER_ORDER
from tools.generated import SectionError, begin_marker, end_marker, replace_section, write_or_check

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
GENERATOR = "make workflows"
MATRIX = "shared/environment_matrix.yaml"
# The class of the environments that rehearse production; the last one before production is what pull requests
# preview against.
PREPRODUCTION = "preproduction"
# The GitHub environment of the pull-request previews (pulumi-layer.yml): it holds the read-only preview role, so no
# environment of the matrix may share its name (its deploy role would be handed to every pull request).
PREVIEW_GITHUB_ENVIRONMENT = "preview"
# What every layer runs: a change to any of these can change any stack. The workflows are among them because a change
# to how a layer is previewed or deployed can change its outcome.
COMMON_PATHS = (
    "shared/**",
    "tools/deploy/**",
    "policies/**",
    "Makefile",
    "mk/**",
    "pyproject.toml",
    ".github/workflows/pull-request.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/pulumi-layer.yml",
)


class WorkflowError(ValueError):
    """The matrix cannot be turned into workflows (say why, naming the entry)."""


class _Template(string.Template):
    # `$` is GitHub's (`${{ }}`, `$/`); nothing in a workflow here uses `@`.
    delimiter = "@"


UP_JOB = _Template("""\
  @job_id:
    name: up @layer (@env)
    needs:
@needs
    if: >-
      !cancelled()
      && needs.test.result == 'success'
      && needs.changes.result == 'success'
      && needs.changes.outputs.@layer == 'true'
      && !contains(needs.*.result, 'failure')
      && !contains(needs.*.result, 'cancelled')
    concurrency:
      group: deploy-@env
      cancel-in-progress: false
    permissions:
      contents: read
      id-token: write # passed down: the called job exchanges it for the AWS role
    uses: $/.github/workflows/pulumi-layer.yml
    with:
      command: up
      layer: @layer
      environment: @environment
@role\
    secrets:
      PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}
      PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}
""")

PREVIEW_JOB = _Template("""\
  @job_id:
    name: preview @layer (@env)
    needs: changes
    if: >-
      needs.changes.outputs.@layer == 'true'
      && github.event.pull_request.head.repo.full_name == github.repository
      && github.actor != 'dependabot[bot]'
    permissions:
      contents: read
      id-token: write # passed down: the called job exchanges it for the AWS role
    uses: $/.github/workflows/pulumi-layer.yml
    with:
      command: preview
      layer: @layer
      environment: @environment
    secrets:
      PULUMI_CONFIG_PASSPHRASE: ${{ secrets.PULUMI_CONFIG_PASSPHRASE }}
      PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}
""")

CHANGES_OUTPUT = _Template(
    "      @layer: ${{ steps.base.outputs.sha == '' || steps.filter.outputs.@layer == 'true' }}\n"
)


@dataclass(frozen=True)
class Section:
    """A generated section of a workflow: its name, what it is generated from, and its markers' indentation."""

    name: str
    source: str
    indent: str

    def markers(self) -> tuple[str, str]:
        """The BEGIN and END lines, indented as the YAML around them."""
        begin = begin_marker(self.name, GENERATOR, self.source, comment="hash")
        return self.indent + begin, self.indent + end_marker(self.name, comment="hash")


LAYERS_SOURCE = "shared.contract.LAYER_ORDER"
CHANGES_OUTPUTS = Section("changes outputs", LAYERS_SOURCE, " " * 6)
FILTERS = Section("filters", LAYERS_SOURCE, " " * 10)
UP_JOBS = Section("up jobs", MATRIX, " " * 2)
PREVIEW_JOBS = Section("preview jobs", MATRIX, " " * 2)


def scalar(value: str) -> str:
    """``value`` as a YAML string: plain when YAML reads it back as the same string, else double-quoted (an
    environment named ``on`` or ``no`` would be a boolean to a YAML 1.1 reader, whose booleans include 1.2's)."""
    plain = bool(value) and value == value.strip() and yamlio.load(f"key: {value}") == {"key": value}
    return value if plain else json.dumps(value)


def layers() -> list[str]:
    """The layers in dependency order."""
    return [layer.value for layer in LAYER_ORDER]


def check_names(envs: Mapping[str, Environment]) -> None:
    """Refuse an environment whose name the workflows already use for something else."""
    if PREVIEW_GITHUB_ENVIRONMENT in envs:
        raise WorkflowError(
            f"{MATRIX}: an environment may not be named '{PREVIEW_GITHUB_ENVIRONMENT}': that is the GitHub "
            "environment of the pull-request previews, which holds the read-only preview role"
        )


def is_production(env: Environment) -> bool:
    """Whether the environment is production-class: its GitHub environment must be protected."""
    return env.environment_class.name == PRODUCTION


def preview_environment(envs: Mapping[str, Environment]) -> str:
    """The environment pull requests preview against: the preproduction-class environment that comes last before the
    first production-class one in promotion order, the rehearsal a merge deploys right before production."""
    names = list(envs)
    first_production = next((i for i, name in enumerate(names) if is_production(envs[name])), len(names))
    rehearsals = [name for name in names[:first_production] if envs[name].environment_class.name == PREPRODUCTION]
    if not rehearsals:
        raise WorkflowError(
            f"{MATRIX}: pull requests preview against the {PREPRODUCTION}-class environment that comes last before "
            f"the first {PRODUCTION}-class one in promotion order, and there is none (order: {', '.join(names)})"
        )
    return rehearsals[-1]


def environment_comment(env: Environment) -> str:
    """The comment above an environment's up jobs: its class, account, role and, for production, the gate."""
    account = f"account {env.account_id}" if env.account_id else "any account"
    role = (
        f"role {env.ci_role_arn} (its ci_role_arn)"
        if env.ci_role_arn
        else f"role: the {env.name} GitHub environment's AWS_ROLE_ARN"
    )
    lines = [f"  # {env.name} ({env.environment_class.name}): {account}; {role}."]
    if is_production(env):
        lines.append(
            f"  # Production class: the {env.name} GitHub environment must be protected (required reviewers, "
            "deployments from\n  # main only): each of its layers waits for an approval."
        )
    return "\n".join(lines)


def up_jobs(envs: Mapping[str, Environment]) -> str:
    """deploy.yml's up jobs: every environment in promotion order, every layer in dependency order, each needing
    every job before it so that ``needs.*.result`` sees the whole chain."""
    order = " -> ".join(envs)
    blocks = [f"  # Promotion order ({MATRIX}): {order}."]
    earlier: list[str] = []
    for env in envs.values():
        comment = environment_comment(env)
        for layer in layers():
            job_id = f"up-{env.name}-{layer}"
            needs = "\n".join(f"      - {need}" for need in ["test", "changes", *earlier])
            role = f"      ci_role_arn: {scalar(env.ci_role_arn)}\n" if env.ci_role_arn else ""
            job = UP_JOB.substitute(
                job_id=job_id, layer=layer, env=env.name, environment=scalar(env.name), needs=needs, role=role
            )
            # The environment's comment heads its first job.
            blocks.append((f"{comment}\n" if layer == layers()[0] else "") + job.rstrip("\n"))
            earlier.append(job_id)
    return "\n\n".join(blocks)


def preview_jobs(envs: Mapping[str, Environment]) -> str:
    """pull-request.yml's preview jobs: one per layer, side by side, against :func:`preview_environment`."""
    target = preview_environment(envs)
    header = (
        f"  # Against {target}: the last {PREPRODUCTION}-class environment before the first {PRODUCTION}-class one\n"
        f"  # in promotion order ({MATRIX})."
    )
    jobs = [
        PREVIEW_JOB.substitute(job_id=f"preview-{layer}", layer=layer, env=target, environment=scalar(target))
        for layer in layers()
    ]
    return "\n\n".join([header, *(job.rstrip("\n") for job in jobs)])


def changes_outputs() -> str:
    """deploy.yml's changes outputs: a layer counts as changed when its filter matched, or when nothing has been
    deployed yet (no base commit)."""
    return "".join(CHANGES_OUTPUT.substitute(layer=layer) for layer in layers())


def filters() -> str:
    """The paths-filter rules: each layer's own stack, every stack upstream of it, and what every layer runs."""
    lines = ["          filters: |"]
    for index, layer in enumerate(layers()):
        lines.append(f"            {layer}:")
        paths = [f"stacks/{upstream}/**" for upstream in layers()[: index + 1]] + list(COMMON_PATHS)
        lines += [f"              - '{path}'" for path in paths]
    return "\n".join(lines)


def sections(envs: Mapping[str, Environment]) -> dict[str, list[tuple[Section, str]]]:
    """Each workflow with generated sections, by file name: its sections and their bodies."""
    return {
        "deploy.yml": [(CHANGES_OUTPUTS, changes_outputs()), (FILTERS, filters()), (UP_JOBS, up_jobs(envs))],
        "pull-request.yml": [(PREVIEW_JOBS, preview_jobs(envs))],
    }


def render(path: Path, text: str, envs: Mapping[str, Environment]) -> str:
    """The workflow ``text`` (of the file ``path``) with its generated sections rewritten."""
    for section, body in sections(envs)[path.name]:
        begin, end = section.markers()
        try:
            text = replace_section(text, begin, end, body)
        except SectionError as error:
            raise WorkflowError(f"{path}: {error}") from error
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the workflows' generated sections, or with ``--check`` exit 1 when any is stale."""
    parser = argparse.ArgumentParser(prog="python -m tools.workflows", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail (exit 1) if a generated section is stale")
    args = parser.parse_args(argv)
    try:
        envs = environments()
        check_names(envs)
        rendered = {
            WORKFLOWS / name: render(WORKFLOWS / name, (WORKFLOWS / name).read_text(), envs) for name in sections(envs)
        }
    except ValueError as error:  # the matrix's own validation, or WorkflowError
        print(f"{GENERATOR}: {error}", file=sys.stderr)
        return 2
    statuses = [write_or_check(path, text, args.check, GENERATOR) for path, text in rendered.items()]
    return max(statuses)


if __name__ == "__main__":
    sys.exit(main())

# Real deployments with the Pulumi CLI and AWS credentials (docs/deploying.md). Included by the main Makefile.
# The recipes are thin: tools/deploy orders the layers, selects or creates each stack, applies the policy pack,
# stops at the first failure with a resume command, and guards destroys. `make doctor ENV=<env>` first.
#
#   make preview-<layer> ENV=<env> [DOWNSTREAM=1]   make up-<layer> ENV=<env>
#   make refresh-<layer> ENV=<env>                   make destroy-<layer> ENV=<env> [CONFIRM=<env>]
#   make preview-all / deploy-all ENV=<env> [FROM=<layer>]   make destroy-all ENV=<env> [CONFIRM=<env>]
#   make outputs ENV=<env>                           make doctor ENV=<env>

# The Pulumi CLI; the tests point this at a stand-in that records its arguments.
PULUMI ?= pulumi
ENV ?=
FROM ?=
CONFIRM ?=
DOWNSTREAM ?=
# For stacks a target creates on a self-managed backend, e.g. awskms://alias/pulumi-state?region=ap-southeast-2
SECRETS_PROVIDER ?=
# Where `make outputs` writes infrastructure.env and infrastructure.json.
OUTPUTS_DIR ?= $(CURDIR)
# deploy-all runs this target first: the offline preview, policies and scans must pass before anything touches AWS.
GATE ?= check
# `up` and `refresh` apply without a prompt in CI (CI=true, as GitHub Actions sets) or with YES=1.
AUTO_YES := $(if $(filter true 1 yes,$(CI) $(YES)),--yes)

DEPLOY = $(PY) -m tools.deploy --pulumi "$(PULUMI)" --target $@ --env "$(ENV)"
LIVE_FLAGS = --policy-config "$(POLICY_CONFIG)" --secrets-provider "$(SECRETS_PROVIDER)"

PREVIEW_LAYERS := $(addprefix preview-,$(LAYERS))
UP_LAYERS := $(addprefix up-,$(LAYERS))
REFRESH_LAYERS := $(addprefix refresh-,$(LAYERS))
DESTROY_LAYERS := $(addprefix destroy-,$(LAYERS))

.PHONY: $(PREVIEW_LAYERS) $(UP_LAYERS) $(REFRESH_LAYERS) $(DESTROY_LAYERS)
.PHONY: preview-all deploy-all destroy-all outputs doctor

$(PREVIEW_LAYERS): preview-%: $(VENV_STAMP) ## (per layer) pulumi preview with the policy pack: make preview-data ENV=dev [DOWNSTREAM=1]
	@$(DEPLOY) run preview --layers $* $(if $(DOWNSTREAM),--downstream) $(LIVE_FLAGS)

$(UP_LAYERS): up-%: $(VENV_STAMP) ## (per layer) pulumi up with the policy pack: make up-data ENV=dev
	@$(DEPLOY) run up --layers $* $(AUTO_YES) $(LIVE_FLAGS)

$(REFRESH_LAYERS): refresh-%: $(VENV_STAMP) ## (per layer) pulumi refresh: make refresh-data ENV=dev
	@$(DEPLOY) run refresh --layers $* $(AUTO_YES) $(LIVE_FLAGS)

$(DESTROY_LAYERS): destroy-%: $(VENV_STAMP) ## (per layer) guarded pulumi destroy: make destroy-edge ENV=dev
	@$(DEPLOY) destroy --layers $* $(if $(CONFIRM),--confirm "$(CONFIRM)")

preview-all: $(VENV_STAMP) ## Preview every layer in order: make preview-all ENV=dev [FROM=<layer>]
	@$(DEPLOY) run preview --layers "$(LAYERS)" $(if $(FROM),--from $(FROM)) $(LIVE_FLAGS)

# Three steps, one after the other: ENV, the Pulumi CLI and AWS credentials (so a typo fails in a second, not after
# `make check`), then the gate, then the ups. They are recipe lines, not prerequisites, because `make -j` runs
# prerequisites side by side: the gate would start before the check had passed.
deploy-all: $(VENV_STAMP) ## Stand up an environment: offline gate, then up network -> data -> compute -> edge
	@$(DEPLOY) check-env --needs-cli
	@$(if $(GATE),$(MAKE) --no-print-directory $(GATE))
	@$(DEPLOY) run up --layers "$(LAYERS)" --yes $(if $(FROM),--from $(FROM)) $(LIVE_FLAGS)

destroy-all: $(VENV_STAMP) ## Destroy edge -> compute -> data -> network after typing the env name (CONFIRM=<env>)
	@$(DEPLOY) destroy --layers "$(LAYERS)" $(if $(CONFIRM),--confirm "$(CONFIRM)")

outputs: $(VENV_STAMP) ## Every layer's outputs to infrastructure.env and infrastructure.json (no secret values)
	@$(DEPLOY) outputs --out-dir "$(OUTPUTS_DIR)"

doctor: $(VENV_STAMP) ## Can this machine and account deploy ENV? CLI, credentials, backend, images, quotas, models
	@$(DEPLOY) doctor

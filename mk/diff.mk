# What a change costs and what it breaks, against another commit (docs/diff.md). Included by the main Makefile.
# BASE names the commit to compare with (a branch, tag or commit: BASE=origin/main); ENVS narrows the environments.

BASE ?=

.PHONY: diff cost-diff

diff: $(VENV_STAMP) $(SCAN_STAMP) ## Cost, resource and finding changes against BASE=<git ref>: build/diff.md, diff.json
	$(PY) -m tools.diff --base "$(BASE)" --out $(BUILD) $(if $(ENVS),--envs "$(ENVS)") --policy-config "$(POLICY_CONFIG)" \
	  $(if $(NO_CACHE),--no-cache)

cost-diff: $(VENV_STAMP) ## The monthly cost change alone against BASE=<git ref>: build/cost-diff.md, cost-diff.json
	$(PY) -m tools.diff --base "$(BASE)" --out $(BUILD) $(if $(ENVS),--envs "$(ENVS)") --cost-only $(if $(NO_CACHE),--no-cache)

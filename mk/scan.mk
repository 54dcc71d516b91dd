# Scans of the synthesized infrastructure (docs/scanning.md). Included by the main Makefile.
# The scanners (checkov, cfn-lint, parliament) live in their own venv: checkov's pins clash with the project's tools.

SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
SCAN_OUT := $(BUILD)/scan
FILE ?=

.PHONY: scan scan-setup

# tools/scan/venv.py decides how it is installed (and writes that in the stamp): a change there updates it too.
$(SCAN_STAMP): pyproject.toml tools/scan/venv.py $(VENV_STAMP)
	@$(PY) -m tools.scan.venv --venv $(SCAN_VENV)
	@touch $@

scan-setup: $(SCAN_STAMP) ## Create .venv-scan from the `scan` pins in pyproject.toml (idempotent)

ifeq ($(strip $(FILE)),)
scan: preview $(SCAN_STAMP) ## checkov, cfn-lint and parliament on every export (FILE=<stack export> scans one)
	$(PY) -m tools.scan --all $(BUILD) --out $(SCAN_OUT)
else
scan: $(SCAN_STAMP)
	$(PY) -m tools.scan $(FILE) --out $(SCAN_OUT)
endif


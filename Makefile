# Student Helper infrastructure: one entry point for set-up, the offline preview, policies, scans and deploys.
# `make help` lists the targets. Everything runs from the repository root.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The stamp is rebuilt whenever the pinned dependencies change, so `make setup` is idempotent and cheap.
VENV_STAMP := $(VENV)/.installed
BUILD := build
# Every environment of shared/environment_matrix.yaml unless ENVS names some (make check ENVS=dev).
ENVS ?=
LAYERS := network data compute edge

# Fragments (policy pack, scans, deploys): included before the rules below so their variables (SCAN_STAMP) exist
# when those rules' prerequisites are read.
include mk/*.mk

.PHONY: help setup test lint check preview clean bench docs workflows

help: ## List the targets
	@grep -hE '^[$$()A-Za-z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^\$$\([A-Z]+_LAYERS\): ([a-z]+)-%:/\1-<layer>:/' \
	  | sort | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# uv (PyPI) installs the pins in seconds where pip takes a minute; pip only bootstraps uv itself, at the version
# pyproject.toml pins. --compile-bytecode, as pip does by default: otherwise each process compiles what it imports
# from source until it can write __pycache__, and never where PYTHONDONTWRITEBYTECODE is set (the SDKs take 1 s a
# process that way, checkov 8 s instead of 2.6 s).
UV_PIN = $(shell grep -o '"uv==[^"]*"' pyproject.toml | tr -d '"')

$(VENV_STAMP): pyproject.toml
	@echo "setup: creating $(VENV) from the pins in pyproject.toml"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "$(UV_PIN)"
	@$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	@touch $@

setup: $(VENV_STAMP) ## Create .venv from the pinned dependencies (idempotent)

# The scanners' venv is a prerequisite, never something a test builds.
test: $(VENV_STAMP) $(SCAN_STAMP) ## Run the test suite (pytest)
	$(PY) -m pytest -n auto

# Every shell script of the repository: .ci/run and any *.sh or *.bash among its files (tools/checkout.py's listing:
# tracked, or new and not ignored, so no venv's scripts; tests/test_workflows.py checks that none is missed). The
# stand-in CLIs the tests write are generated, not files of the repository; the workflows' run: blocks are
# actionlint's to shellcheck (no wheel on PyPI), and zizmor covers their injections.
SHELL_SCRIPTS = .ci/run $(shell $(PY) -c 'from pathlib import Path; from tools.checkout import repo_files; \
  print(*(p.relative_to(Path.cwd()) for p in repo_files(Path.cwd()) if p.suffix in (".sh", ".bash")))')

lint: $(VENV_STAMP) ## ruff, mypy, zizmor (GitHub Actions) and shellcheck
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	@# Each layer program is a separate __main__ module: type-check them one at a time.
	@for program in stacks/*/__main__.py; do $(PY) -m mypy --no-error-summary "$$program" || exit $$?; done
	@# The workflows and dependabot.yml, offline (no GitHub API), pedantic: security findings and code smells.
	@# Any finding fails (exit 11-14); so does a file zizmor cannot parse (--strict-collection).
	$(VENV)/bin/zizmor --offline --persona=pedantic --strict-collection --no-progress --quiet .github
	$(VENV)/bin/shellcheck --norc $(SHELL_SCRIPTS)

preview: $(VENV_STAMP) ## Offline preview of every layer of every environment: build/<env>/<layer>.json
	$(PY) -m tools.offline --out $(BUILD) $(if $(ENVS),--envs "$(ENVS)") --layers "$(LAYERS)"

# The main job: every layer of every environment offline, then side by side the policy pack, the scans, the cost
# estimate and the diagram; build/<env>/report.md, build/summary.json and a terminal summary. NO_CACHE=1 reruns all.
check: $(VENV_STAMP) $(SCAN_STAMP) ## The main job: offline preview, policies, scans, cost and diagram, reported
	$(PY) -m tools.check --out $(BUILD) --policy-config "$(POLICY_CONFIG)" $(if $(ENVS),--envs "$(ENVS)") $(if $(NO_CACHE),--no-cache)

# Writes docs/benchmarks.json, and from it docs/benchmarks.md and the README's first-run paragraph (commit them).
bench: $(VENV_STAMP) $(SCAN_STAMP) ## Measure a first run, make check (cold, warm) and make test against their targets
	$(PY) -m tools.bench $(if $(RUNS),--runs $(RUNS)) $(if $(SKIP),--skip $(SKIP))

# Tests fail when any of these is stale; this target regenerates them all.
docs: preview ## Regenerate what is generated: the prod drawing, reference and policy tables, CODEOWNERS, pack config, workflows
	$(PY) -m tools.report.diagram --build $(BUILD) --env prod --docs docs
	$(PY) -m tools.reference_docs
	$(PY) -m tools.policy_docs
	$(PY) -m tools.codeowners
	$(PY) -m tools.pack_config
	$(PY) -m tools.workflows

# The workflows' jobs per environment and layer (deploy.yml's up jobs, pull-request.yml's previews), from the matrix.
workflows: $(VENV_STAMP) ## Regenerate the workflows' jobs from shared/environment_matrix.yaml (also run by make docs)
	$(PY) -m tools.workflows

clean: ## Remove build output (keeps the virtualenvs)
	rm -rf $(BUILD) .pytest_cache .mypy_cache .ruff_cache


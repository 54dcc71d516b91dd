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
ENVS := dev staging prod
LAYERS := network data compute edge
# The Pulumi CLI; tests point this at a stand-in that records its arguments.
PULUMI ?= pulumi

.PHONY: help setup test lint check preview clean bench deploy deploy-all preview-live

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV_STAMP): pyproject.toml
	@echo "setup: creating $(VENV) from the pins in pyproject.toml"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

setup: $(VENV_STAMP) ## Create .venv from the pinned dependencies (idempotent)

test: $(VENV_STAMP) ## Run the test suite (pytest)
	$(PY) -m pytest

lint: $(VENV_STAMP) ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	@# Each layer program is a separate __main__ module: type-check them one at a time.
	@for program in stacks/*/__main__.py; do $(PY) -m mypy --no-error-summary "$$program" || exit $$?; done

preview: $(VENV_STAMP) ## Offline preview of every layer of every environment: build/<env>/<layer>.json
	$(PY) -m tools.offline --out $(BUILD) --envs "$(ENVS)" --layers "$(LAYERS)"

check: preview ## The main job: offline preview, policy pack and scans over every export

bench: $(VENV_STAMP) ## Benchmark the offline answer: preview and policy pack wall time (median of 3)
	$(PY) -m tools.bench

clean: ## Remove build output (keeps the virtualenvs)
	rm -rf $(BUILD) .pytest_cache .mypy_cache .ruff_cache

# --- Real deployments (need the Pulumi CLI and AWS credentials) -------------------------------------------
# GATE runs first in deploy-all: the offline preview, policies and scans must pass before anything touches AWS.
GATE ?= check
POLICY_PACK := $(CURDIR)/policies
POLICY_FLAGS := --policy-pack $(POLICY_PACK) --policy-pack-config $(POLICY_PACK)/config.json

.PHONY: check-env check-layer
check-env:
	@case " $(ENVS) " in *" $(ENV) "*) ;; *) echo "ENV='$(ENV)' is not a stack of this repo: allowed $(ENVS)" >&2; exit 2;; esac

check-layer:
	@case " $(LAYERS) " in *" $(LAYER) "*) ;; *) echo "LAYER='$(LAYER)' is not a layer: allowed $(LAYERS)" >&2; exit 2;; esac

preview-live: check-env ## Real `pulumi preview` with the policy pack for every layer: make preview-live ENV=dev
	@for layer in $(LAYERS); do \
	  echo "preview-live: $$layer [$(ENV)]"; \
	  $(PULUMI) preview --cwd stacks/$$layer --stack $(ENV) $(POLICY_FLAGS) || exit $$?; \
	done

deploy: check-env check-layer ## `pulumi up` one layer with the policy pack: make deploy LAYER=data ENV=staging
	$(PULUMI) up --cwd stacks/$(LAYER) --stack $(ENV) $(POLICY_FLAGS)

deploy-all: check-env $(GATE) ## Stand up an environment: offline gate, then network -> data -> compute -> edge
	@for layer in $(LAYERS); do \
	  echo "deploy-all: pulumi up $$layer [$(ENV)]"; \
	  $(PULUMI) up --cwd stacks/$$layer --stack $(ENV) $(POLICY_FLAGS) --yes || exit $$?; \
	done

-include mk/*.mk

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

preview: $(VENV_STAMP) ## Offline preview of every layer of every environment: build/<env>/<layer>.json
	$(PY) -m tools.offline --out $(BUILD) --envs "$(ENVS)" --layers "$(LAYERS)"

check: preview ## The main job: offline preview, policy pack and scans over every export

clean: ## Remove build output (keeps the virtualenvs)
	rm -rf $(BUILD) .pytest_cache .mypy_cache .ruff_cache

-include mk/*.mk

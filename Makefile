# The README's two commands: `make demo` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CACHE ?= $(HOME)/.cache/airflow-kaniko
PYTHON ?= python3
# The venv is keyed by the dependency pins, so a new pin gets a new venv and an old one stays cached.
DEPS_KEY := $(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-12)
VENV := $(CACHE)/venv-$(DEPS_KEY)
PY := $(VENV)/bin/python
LOCALKUBE := dev/localkube
PYTEST_ARGS ?=

.PHONY: help venv busybox test test-unit test-e2e test-deployment demo cluster-up cluster-down airflow-up airflow-down bench clean-venv

help:
	@echo "make demo       bring up the local cluster and Airflow if needed, run the example DAG on them"
	@echo "make test       run every test tier: unit, end to end on the local cluster, then on the local Airflow deployment"
	@echo "make test-unit  unit tests only (no cluster)"
	@echo "make test-e2e   end-to-end tests only (starts the local cluster)"
	@echo "make test-deployment  the deployment tier only (starts the local cluster and Airflow)"
	@echo "make cluster-up / cluster-down   start or stop the local cluster"
	@echo "make airflow-up / airflow-down   start or stop the local Airflow deployment (and the cluster, on up)"

$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "==> creating $(VENV) (first run: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip "setuptools>=77"
	$(VENV)/bin/pip install --quiet --constraint constraints.txt '.[test,deploy]'
	touch $@

# Re-pointed at this checkout on every run, since the venv is shared between clones.
venv: $(VENV)/.installed
	@$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e . >$(VENV)/editable.log 2>&1 \
	  || { cat $(VENV)/editable.log; exit 1; }

test: test-unit test-e2e test-deployment

# The multi-build script runs under busybox sh in the pod, so the unit tier runs it there too.
busybox:
	@command -v busybox >/dev/null || $(LOCALKUBE)/packages.sh busybox-static

test-unit: venv busybox
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# `up` prints the path of its env file (KUBECONFIG, registry address, credentials file).
test-e2e: venv
	env_file=$$($(LOCALKUBE)/up) && source "$$env_file" && KANIKO_E2E=required $(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# `dev/deploy/up` prints the path of its env file (the cluster's, plus AIRFLOW_HOME, API URL, passwords file).
test-deployment: venv
	env_file=$$(VENV=$(VENV) dev/deploy/up) && source "$$env_file" && KANIKO_DEPLOYMENT=required $(PY) -m pytest tests/deployment $(PYTEST_ARGS)

cluster-up:
	$(LOCALKUBE)/up

cluster-down:
	$(LOCALKUBE)/down

airflow-up: venv
	VENV=$(VENV) dev/deploy/up

airflow-down:
	dev/deploy/down

demo: venv
	$(PY) dev/demo.py

bench: venv
	env_file=$$($(LOCALKUBE)/up) && source "$$env_file" && $(PY) dev/bench.py && $(PY) dev/bench_maintenance.py

clean-venv:
	rm -rf $(VENV)

# The two commands of the README and CONTRIBUTING.md: `make demo` and `make test`. Everything they need is installed here.
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

.PHONY: help venv busybox test test-unit test-integration test-e2e test-deployment demo cluster-up cluster-down airflow-up airflow-down bench bench-smoke clean-venv
.PHONY: venv-lowest test-unit-lowest test-integration-lowest dist wheel-smoke lint typecheck docs

help:
	@echo "make demo       bring up the local cluster and Airflow if needed, run the example DAG on them"
	@echo "make test       run every test tier: unit, integration, end to end on the local cluster, then on the local Airflow deployment"
	@echo "make test-unit  unit tests only (no cluster, no metadata DB)"
	@echo "make test-integration  no cluster, but a migrated SQLite metadata DB and real dag.test() runs"
	@echo "make test-e2e   end-to-end tests only (starts the local cluster)"
	@echo "make test-deployment  the deployment tier only (starts the local cluster and Airflow)"
	@echo "make test-unit-lowest   unit tests on the oldest versions pyproject.toml allows (constraints-lowest.txt)"
	@echo "make test-integration-lowest   the integration tier on those oldest versions"
	@echo "make lint       ruff check, ruff format --check and the import contracts (lint-imports)"
	@echo "make typecheck  mypy on airflow_kaniko/ (settings in setup.cfg)"
	@echo "make docs       the user documentation into docs/_build/html (Sphinx, warnings are errors)"
	@echo "make dist       build the sdist and wheel into dist/ and twine-check them"
	@echo "make wheel-smoke   install the wheel into a venv of its own and check it works as a provider"
	@echo "make cluster-up / cluster-down   start or stop the local cluster"
	@echo "make airflow-up / airflow-down   start or stop the local Airflow deployment (and the cluster, on up)"
	@echo "make bench      KanikoBuildOperator against a plain KubernetesPodOperator, the layer cache, change-aware maintenance (numbers)"
	@echo "make bench-smoke   the bench once, tiny: fails unless every step ran and printed its figures (no timing asserted)"

# The tools come from pyproject's [dependency-groups] (`--group` needs pip >= 25.1), the OpenLineage
# provider from the package's own `openlineage` extra, which the lineage tests exercise.
# No file prerequisites: the directory name already carries the pins' hash, and a fresh clone's new
# mtimes would otherwise reinstall a complete venv on every CI run.
$(VENV)/.installed:
	@echo "==> creating $(VENV) (first run: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=25.1" "setuptools>=77"
	$(VENV)/bin/pip install --quiet --constraint constraints.txt '.[openlineage]' --group test --group dev --group deploy --group docs
	touch $@

# Re-pointed at this checkout on every run, since the venv is shared between clones.
venv: $(VENV)/.installed
	@$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e . >$(VENV)/editable.log 2>&1 \
	  || { cat $(VENV)/editable.log; exit 1; }

test: lint typecheck docs test-unit test-hostile-registry test-unit-lowest test-integration test-integration-lowest wheel-smoke test-e2e test-deployment bench-smoke

# The multi-build script runs under busybox sh in the pod, so the unit tier runs it there too.
busybox:
	@command -v busybox >/dev/null || $(LOCALKUBE)/packages.sh busybox-static

test-unit: venv busybox
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

# The registry adapter against hostile HTTPS servers on 127.0.0.1 (no cluster; about 20 s).
.PHONY: test-hostile-registry
test-hostile-registry: venv
	$(PY) -m pytest tests/hostile_registry $(PYTEST_ARGS)

# No cluster, but `airflow db migrate` (SQLite in the test AIRFLOW_HOME) and whole DAGs under dag.test().
test-integration: venv
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

# `up` prints the path of its env file (KUBECONFIG, registry address, credentials file).
test-e2e: venv
	env_file=$$($(LOCALKUBE)/up) && source "$$env_file" && KANIKO_E2E=required $(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# `dev/deploy/up` prints the path of its env file (the cluster's, plus AIRFLOW_HOME, API URL, passwords file).
# The browser test drives Debian's headless chromium through chromium-driver (selenium from the test group).
test-deployment: venv
	$(LOCALKUBE)/packages.sh chromium chromium-driver
	env_file=$$(VENV=$(VENV) dev/deploy/up) && source "$$env_file" && KANIKO_DEPLOYMENT=required $(PY) -m pytest tests/deployment $(PYTEST_ARGS)

# --- lint and types: before the unit tier, and they fail `make test` ---------------------------
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache .importlinter

typecheck: venv
	$(PY) -m mypy

# The user documentation (docs/, Sphinx with myst-parser and furo): warnings are errors, every reference resolves;
# -E rereads every page, so a warning an earlier build cached is raised again.
docs: venv
	$(VENV)/bin/sphinx-build -E -n -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

# --- compatibility: the unit tier on the oldest versions pyproject.toml allows ----------------
LOWEST_KEY := $(shell cat pyproject.toml constraints-lowest.txt | sha256sum | cut -c1-12)
VENV_LOWEST := $(CACHE)/venv-lowest-$(LOWEST_KEY)

$(VENV_LOWEST)/.installed:
	@echo "==> creating $(VENV_LOWEST) (first run: a few minutes)"
	$(PYTHON) -m venv $(VENV_LOWEST)
	$(VENV_LOWEST)/bin/pip install --quiet --upgrade "pip>=25.1" "setuptools>=77"
	$(VENV_LOWEST)/bin/pip install --quiet --constraint constraints-lowest.txt '.[openlineage]' --group test
	touch $@

venv-lowest: $(VENV_LOWEST)/.installed
	@$(VENV_LOWEST)/bin/pip install --quiet --no-deps --no-build-isolation -e . >$(VENV_LOWEST)/editable.log 2>&1 \
	  || { cat $(VENV_LOWEST)/editable.log; exit 1; }

test-unit-lowest: venv-lowest busybox
	$(VENV_LOWEST)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

# The task SDK's XCom behind the link and the OpenLineage listener run only under dag.test(): their lowest too.
test-integration-lowest: venv-lowest
	$(VENV_LOWEST)/bin/python -m pytest tests/integration $(PYTEST_ARGS)

# --- the wheel is the product ---------------------------------------------------------------
dist: venv
	rm -rf dist
	$(PY) -m build --outdir dist . >$(VENV)/build.log 2>&1 || { tail -30 $(VENV)/build.log; exit 1; }
	$(PY) -m twine check --strict dist/*
	@ls -l dist

# A venv with the wheel and its runtime dependencies only, keyed by the pins like the others; the wheel
# is reinstalled on every run, so it is always the one just built.
SMOKE_VENV := $(CACHE)/wheel-smoke-$(DEPS_KEY)

wheel-smoke: dist
	@test -e $(SMOKE_VENV)/.installed || { echo "==> creating $(SMOKE_VENV)"; rm -rf $(SMOKE_VENV) && $(PYTHON) -m venv $(SMOKE_VENV) \
	  && $(SMOKE_VENV)/bin/pip install --quiet --upgrade pip && $(SMOKE_VENV)/bin/pip install --quiet --constraint constraints.txt dist/*.whl \
	  && touch $(SMOKE_VENV)/.installed; }
	$(SMOKE_VENV)/bin/pip install --quiet --no-deps --force-reinstall dist/*.whl
	$(SMOKE_VENV)/bin/python dev/wheel_smoke.py dist/*.whl dags/kaniko_image_maintenance.py

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

# The last step of `make test`, so a broken bench fails CI: `make bench` once, on its smallest knobs, then every
# figure line it must print (an extended regex each). Timings are printed, never asserted.
BENCH_SMOKE_IMAGES := 10
BENCH_FIGURES := 'example - KPO +[-+]' 'consumer - KPO +[-+]' \
  'bench_kpo_sync +task' 'bench_kaniko_sync +task' 'bench_kaniko_isolated_sync +task' \
  'bench_kpo_deferrable +task' 'bench_kaniko_deferrable +task' 'bench_kaniko_isolated_deferrable +task' \
  'default, 1 tag +[0-9]' 'isolated, 1 tag +[0-9]' 'default, 3 tags +[0-9]' 'isolated, 3 tags +[0-9]' \
  'cache: cold [0-9.]+ s, cached [0-9.]+ s, ratio [0-9.]+' \
  'full run +[0-9]+ Kaniko' 'unchanged rerun +0 Kaniko' 'all new +[0-9]' 'all unchanged +[0-9.]+ s .*all $(BENCH_SMOKE_IMAGES) unchanged' \
  'trusted +[0-9]' 'the label check \(issue 18\): [-+][0-9.]+ ms per image' \
  '--reproducible off +[0-9]' '--reproducible on +[0-9]'

bench-smoke:
	@log=$$(mktemp /tmp/airflow-kaniko-bench-smoke-XXXXXX.log) && set -o pipefail \
	  && BENCH_REPEAT=1 BENCH_PARSE_REPEAT=1 BENCH_IMAGES=$(BENCH_SMOKE_IMAGES) BENCH_CACHE_BYTES=10000000 \
	     $(MAKE) --no-print-directory bench 2>&1 | tee "$$log" \
	  && for figure in $(BENCH_FIGURES); do \
	       grep -Eq -- "$$figure" "$$log" || { echo "bench-smoke: no line matching '$$figure' (output: $$log)"; exit 1; }; \
	     done && echo "bench-smoke: every bench step ran and printed its figures (output: $$log)"

clean-venv:
	rm -rf $(VENV)

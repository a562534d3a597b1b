#!/usr/bin/env bash
# Lint, format check and type check; configured in pyproject.toml ([tool.ruff], [tool.mypy]) and, for the
# browser JavaScript in bot/static, jsconfig.json (TypeScript checks the JSDoc-typed ES modules, no build).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check bot actions tests scripts
.venv/bin/ruff format --check bot actions tests scripts
.venv/bin/mypy
[ -x node_modules/.bin/tsc ] || { echo "node_modules/.bin/tsc is missing: install Node.js 18+ and npm, then make setup (npm ci)" >&2; exit 1; }
node_modules/.bin/tsc -p jsconfig.json

#!/usr/bin/env bash
# The whole suite, in the order a failure is cheapest to find:
# lint + types -> Rasa data validation -> (cached) training -> Rasa conversation tests -> pytest
# (unit, integration against real Rasa + app + SQLite/PostgreSQL, browser; on POSBOT_TEST_WORKERS processes).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
RASA_DATA=(--config config.yml --domain domain.yml --data data/nlu data/dialogue)

step() { printf '\n=== %s ===\n' "$*"; }

step "Lint, format check and type check (scripts/lint.sh)"
scripts/lint.sh

step "Rasa data validation"
.venv-rasa/bin/rasa data validate "${RASA_DATA[@]}" --fail-on-warnings

step "Rasa model (trained only when its inputs changed)"
MODEL=$(.venv/bin/posbot rasa train)
export POSBOT_TEST_MODEL="$MODEL"

step "Rasa conversation tests (tests/stories)"
out=$(mktemp -d)
.venv-rasa/bin/rasa test core --stories tests/stories -m "$MODEL" --out "$out" --fail-on-prediction-errors \
  >"$out/log.txt" 2>&1 || { tail -n 60 "$out/log.txt"; cat "$out"/failed_test_stories.yml 2>/dev/null; exit 1; }
grep -E "Correct:|Accuracy|F1-Score" "$out/log.txt" | tail -n 6 || true
rm -rf "$out"

step "pytest: unit, integration, browser"
export POSBOT_REQUIRE_PG=1
# pytest-xdist workers: POSBOT_TEST_WORKERS=N (default 2, one per core here; 0 runs everything in
# this one process). loadgroup keeps tests sharing an expensive fixture on one worker (tests/conftest.py groups them).
WORKERS=${POSBOT_TEST_WORKERS:-2}
XDIST=()
if [[ "$WORKERS" != 0 ]]; then XDIST=(-n "$WORKERS" --dist loadgroup); fi
.venv/bin/python -m pytest ${XDIST[@]+"${XDIST[@]}"} --durations=15 "$@"

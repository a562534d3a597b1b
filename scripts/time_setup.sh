#!/usr/bin/env bash
# Time `make run` from a clean checkout to healthy, cold (fresh environments, no model, no
# FAQ index) and then warm (everything built: a restart), in a temporary copy of HEAD with
# its own environments, on free loopback ports. Prints both times; leaves nothing running.
#   scripts/time_setup.sh [--keep]    (--keep: leave the temporary copy for inspection)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/posbot-setup-XXXXXX)
git -C "$src" archive HEAD | tar -x -C "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export POSBOT_PORT=$(free_port) RASA_PORT=$(free_port)

run_once() {  # run_once LABEL: make run until it prints "Ready:", then Ctrl-C
  local label=$1 log="$work/make-run-$1.log" start end pid
  start=$(date +%s)
  : >"$log"
  ( cd "$work" && exec setsid make run UP_ARGS="--rasa-port $RASA_PORT" ) >"$log" 2>&1 &
  pid=$!
  while ! grep -q "^Ready:" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "$label: make run failed; see $log" >&2; tail -n 30 "$log" >&2; exit 1; fi
    sleep 1
  done
  end=$(date +%s)
  kill -INT -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf '%s make run to healthy: %d s\n' "$label" $((end - start))
}

trap '[ "${1:-}" = "--keep" ] || rm -rf "$work"' EXIT
echo "temporary checkout: $work (app port $POSBOT_PORT, Rasa port $RASA_PORT)"
run_once cold
run_once warm

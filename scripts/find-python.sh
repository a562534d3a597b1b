#!/usr/bin/env bash
# Print the path of a working Python interpreter of the wanted minor version.
#   find-python.sh 3.10       -> exactly 3.10 (Rasa's environment)
#   find-python.sh 3.11+      -> 3.11 or newer (the app service)
# Tries PATH first, then pyenv's installs (pyenv shims fail when the global version differs).
set -u
want="${1:?usage: find-python.sh 3.10|3.11+}"
ok() {  # ok PYTHON -> exit 0 if it runs and has the wanted version
  local v
  v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
  case "$want" in
    *+) [ "$(printf '%s\n%s\n' "${want%+}" "$v" | sort -V | head -n1)" = "${want%+}" ] ;;
    *) [ "$v" = "$want" ] ;;
  esac
}
cands=()
case "$want" in
  *+) cands+=(python3.11 python3.12 python3.13 python3) ;;
  *) cands+=("python$want") ;;
esac
for c in "${cands[@]}"; do
  p=$(command -v "$c" 2>/dev/null) && ok "$p" && { echo "$p"; exit 0; }
done
root=$( (pyenv root) 2>/dev/null || echo "$HOME/.pyenv")
for p in "$root"/versions/${want%+}*/bin/python${want%+}; do
  [ -x "$p" ] && ok "$p" && { echo "$p"; exit 0; }
done
echo "error: Python $want not found. Install it (e.g. 'pyenv install ${want%+}' or your OS package python${want%+}) and re-run." >&2
exit 1

#!/usr/bin/env bash
# Installs uv when missing, then the locked environment (idempotent, quick when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  echo "installing uv" >&2
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
fi
UV=$(command -v uv 2>/dev/null || echo "$HOME/.local/bin/uv")
"$UV" sync --frozen --quiet

# The end-to-end tests and `make run` put the real nginx gateway in front of the services.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing nginx (gateway)" >&2
    (apt-get install -y -qq nginx-light >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq nginx-light >/dev/null 2>&1; }) \
      || echo "could not install nginx; install it with: apt-get install nginx-light" >&2
  else
    echo "nginx is not installed; install it with: sudo apt-get install nginx-light" >&2
  fi
fi

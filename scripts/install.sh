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

# System packages: as root with apt-get, or through passwordless sudo; the cached package lists first,
# then a refresh when the package is not found in them.
apt_install() {  # apt_install <package> <why>
  local run=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then run=(sudo -n); else
      echo "$1 is not installed ($2); install it with: sudo apt-get install $1" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$1 is not installed ($2) and there is no apt-get here: install it with your package manager" >&2
    return 0
  fi
  echo "installing $1 ($2)" >&2
  run+=(env DEBIAN_FRONTEND=noninteractive)  # CI has no terminal to answer a prompt
  ("${run[@]}" apt-get install -y -qq "$1" >/dev/null 2>&1 \
    || { "${run[@]}" apt-get update -qq >/dev/null 2>&1 && "${run[@]}" apt-get install -y -qq "$1" >/dev/null 2>&1; }) \
    || echo "could not install $1; install it with: apt-get install $1" >&2
}

# CI (`CI` true; .ci/run sets it) must not go green with the tests that need a system package skipped:
# there a package that could not be installed fails the install.
in_ci() { case "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')" in 1 | true | yes) return 0 ;; esac; return 1; }
needed_in_ci() {  # needed_in_ci <package> <why>: still missing after apt_install
  if in_ci; then
    echo "$1 is missing and CI needs it ($2): apt-get install $1" >&2
    exit 1
  fi
}
has_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
has_chromium() { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; }

# The end-to-end tests and `make run` put the real nginx gateway in front of the services.
if ! has_nginx; then
  apt_install nginx-light "the gateway"
  has_nginx || needed_in_ci nginx-light "the end-to-end tests run behind the gateway"
fi
# The console's browser tests drive Debian's chromium (Playwright's own browser builds cannot be fetched).
if ! has_chromium; then
  apt_install chromium "the console's browser tests"
  has_chromium || needed_in_ci chromium "the console's browser tests"
fi
# `make validate-deploy` checks and unit-tests the Prometheus alert rules with promtool (Debian's
# prometheus package ships it); CI must not pass with those checks skipped.
if ! command -v promtool >/dev/null 2>&1; then
  apt_install prometheus "promtool, for the alert rules' checks"
  command -v promtool >/dev/null 2>&1 || needed_in_ci prometheus "promtool, for the alert rules' checks"
fi

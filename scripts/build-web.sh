#!/usr/bin/env bash
# Builds the web console (web/ -> web/dist) when the build is missing or older than any of its sources;
# installs its npm packages (npm ci, from web/package-lock.json) when they are missing or stale.
#   scripts/build-web.sh            build if needed (the build type-checks first: tsc --noEmit)
#   scripts/build-web.sh --check    build if needed, then lint (ESLint) and run the unit tests (Vitest)
#   scripts/build-web.sh --lint     no build: type-check and lint only (`make lint`)
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "build-web: Node.js 20.19+ and npm are needed to build the console (web/)" >&2
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "build-web: Node.js $(node --version) is too old; the console's build needs 20.19 or newer" >&2
  exit 1
fi

# npm ci leaves node_modules/.package-lock.json: older than the lock file means the packages changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "build-web: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "--lint" ]; then
  npm run --silent typecheck
  npm run --silent lint
  exit 0
fi

sources=(src public index.html package.json package-lock.json vite.config.ts tsconfig.json tsconfig.node.json)
if [ ! -f dist/index.html ] || [ -n "$(find "${sources[@]}" -newer dist/index.html -print -quit)" ]; then
  echo "build-web: vite build" >&2
  npm run --silent build
else
  echo "build-web: web/dist is up to date" >&2
fi

if [ "${1:-}" = "--check" ]; then
  npm run --silent lint
  npm run --silent test
fi

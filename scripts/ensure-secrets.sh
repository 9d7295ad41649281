#!/usr/bin/env bash
# `make up`: give this checkout its own FLOWPILOT_JWT_SECRET and FLOWPILOT_SECRET_KEY, generated once.
# They go into .env (git-ignored; docker compose reads it for ${...} in docker-compose.yml). A value
# already there is kept: rerunning never rotates a key (sealed integration secrets would no longer
# open). A value exported in the shell still wins over .env in compose. Usage:
#   scripts/ensure-secrets.sh [path, default <repo>/.env]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-.env}"
touch "$target"
chmod 600 "$target"

random_secret() {
  # 48 random bytes, base64 without padding or separators: 64 characters.
  head -c 48 /dev/urandom | base64 | tr -d '\n=+/' | head -c 64
}

for name in FLOWPILOT_JWT_SECRET FLOWPILOT_SECRET_KEY; do
  if grep -q "^${name}=" "$target"; then
    continue
  fi
  printf '%s=%s\n' "$name" "$(random_secret)" >>"$target"
  echo "generated $name in $target"
done

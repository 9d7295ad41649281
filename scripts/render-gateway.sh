#!/usr/bin/env bash
# Renders the gateway (deploy/gateway) into a complete, self-contained nginx config.
#
#   scripts/render-gateway.sh <out_dir> <api host:port list> <notifier host:port list> <listen_port> [<docgen list>] [<static root>]
#
# The docgen list serves the documentation-regenerate path only (default 127.0.0.1:$FLOWPILOT_DOCGEN_PORT).
# The static root is the web console's build the gateway serves at / (default $GATEWAY_STATIC_ROOT, else web/dist).
# Lists are comma- or space-separated ("127.0.0.1:8000,127.0.0.1:8010"). Writes <out_dir>/nginx.conf and
# <out_dir>/gateway.conf; pid, logs and temp files stay inside <out_dir>. Run it with:
#   nginx -p <out_dir> -c <out_dir>/nginx.conf -g 'daemon off;'
# GATEWAY_ACCESS_LOG / GATEWAY_ERROR_LOG override the log destinations (default <out_dir>/logs/*.log;
# e.g. /dev/stdout and stderr).
set -euo pipefail

if [ "$#" -lt 4 ] || [ "$#" -gt 6 ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"

server_lines() {  # "a:1,b:2" -> "server a:1 max_fails=1 fail_timeout=5s;" lines
  local list="${1//,/ }" first=1 hostport
  for hostport in $list; do
    [ "$first" = 1 ] || printf '\n    '
    printf 'server %s max_fails=1 fail_timeout=5s;' "$hostport"
    first=0
  done
  [ "$first" = 0 ] || { echo "render-gateway: empty upstream list" >&2; return 1; }
}

# Temp paths of the modules this nginx was built with, inside the prefix (never /var/lib/nginx).
extra=""
nginx_build="$("$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)" -V 2>&1 || true)"
for module in fastcgi uwsgi scgi; do
  case "$nginx_build" in *"--without-http_${module}_module"*) continue ;; esac
  extra+="    ${module}_temp_path ${out}/tmp/${module};"$'\n'
done

export GATEWAY_PREFIX="$out"
export GATEWAY_LISTEN_PORT="$4"
export GATEWAY_EXTRA_TEMP_PATHS="${extra%$'\n'}"
GATEWAY_STATIC_ROOT="$(realpath -m "${6:-${GATEWAY_STATIC_ROOT:-$here/web/dist}}")"
export GATEWAY_STATIC_ROOT
[ -f "$GATEWAY_STATIC_ROOT/index.html" ] \
  || echo "render-gateway: no console build in $GATEWAY_STATIC_ROOT (make web); / answers 404 until there is" >&2
export GATEWAY_ACCESS_LOG="${GATEWAY_ACCESS_LOG:-$out/logs/access.log}"
export GATEWAY_ERROR_LOG="${GATEWAY_ERROR_LOG:-$out/logs/error.log}"
API_UPSTREAM_SERVERS="$(server_lines "$2")"
NOTIFIER_UPSTREAM_SERVERS="$(server_lines "$3")"
DOCGEN_UPSTREAM_SERVERS="$(server_lines "${5:-127.0.0.1:${FLOWPILOT_DOCGEN_PORT:-8002}}")"
export API_UPSTREAM_SERVERS NOTIFIER_UPSTREAM_SERVERS DOCGEN_UPSTREAM_SERVERS

mkdir -p "$out/logs" "$out/tmp"
# nginx workers may run as another user (nobody, www-data) when the master is root: let them in.
chmod 0755 "$out" "$out/logs" "$out/tmp"
envsubst '${GATEWAY_LISTEN_PORT} ${API_UPSTREAM_SERVERS} ${NOTIFIER_UPSTREAM_SERVERS} ${DOCGEN_UPSTREAM_SERVERS} ${GATEWAY_ACCESS_LOG} ${GATEWAY_STATIC_ROOT}' \
  <"$here/deploy/gateway/gateway.conf.template" >"$out/gateway.conf"
envsubst '${GATEWAY_PREFIX} ${GATEWAY_ERROR_LOG} ${GATEWAY_EXTRA_TEMP_PATHS}' \
  <"$here/deploy/gateway/nginx.conf.template" >"$out/nginx.conf"
echo "$out/nginx.conf"

#!/usr/bin/env bash
# `make run`: the four services, the nginx gateway (when nginx is installed) and a local SMTP sink
# (unless FLOWPILOT_SMTP_HOST is set), in the foreground under honcho. Ctrl-C stops everything.
# Expects `make install services migrate` to have run (the make target does that first).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
UV="${UV:-$(command -v uv 2>/dev/null || echo "$HOME/.local/bin/uv")}"
run_dir="$root/.run"
mkdir -p "$run_dir"

api_port="${FLOWPILOT_API_PORT:-8000}"
notifier_port="${FLOWPILOT_NOTIFIER_PORT:-8001}"
gateway_port="${GATEWAY_PORT:-8080}"
procfile="$run_dir/Procfile"
grep -v '^#' Procfile >"$procfile"

mail_line="mail view:          (FLOWPILOT_SMTP_HOST=${FLOWPILOT_SMTP_HOST:-} is used, no local sink)"
if [ -z "${FLOWPILOT_SMTP_HOST:-}" ]; then
  export FLOWPILOT_SMTP_HOST=127.0.0.1 FLOWPILOT_SMTP_PORT=1025
  echo "mailsink: python scripts/mailsink.py --smtp-port 1025 --http-port 8025" >>"$procfile"
  mail_line="mail view:          http://localhost:8025  (SMTP sink on 127.0.0.1:1025)"
fi

gateway_line="gateway:            not started: nginx is not installed (sudo apt-get install nginx-light)"
nginx_bin="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"
if [ -x "$nginx_bin" ]; then
  GATEWAY_ACCESS_LOG=/dev/stdout GATEWAY_ERROR_LOG=stderr \
    bash scripts/render-gateway.sh "$run_dir/gateway" "127.0.0.1:$api_port" "127.0.0.1:$notifier_port" \
    "$gateway_port" "127.0.0.1:${FLOWPILOT_DOCGEN_PORT:-8002}" "$root/web/dist" >/dev/null
  echo "gateway: $nginx_bin -p $run_dir/gateway -c $run_dir/gateway/nginx.conf -e stderr -g 'daemon off;'" >>"$procfile"
  gateway_line="console + gateway:  http://localhost:$gateway_port  (sign up there; the API is under /api/v1)"
fi

# The RabbitMQ management UI, where the broker is local and the plugin is not on yet (best effort).
if command -v rabbitmq-plugins >/dev/null 2>&1 && ! (exec 3<>/dev/tcp/127.0.0.1/15672) 2>/dev/null; then
  timeout 60 rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
fi

cat <<BANNER
FlowPilot Escalations (Ctrl-C stops everything)
  API (handoff-api):  http://localhost:$api_port/api/v1
  $gateway_line
  $mail_line
  RabbitMQ management: http://localhost:15672  (guest / guest)
  notifier :$notifier_port, docgen :${FLOWPILOT_DOCGEN_PORT:-8002}, psa-sync :${FLOWPILOT_PSA_SYNC_PORT:-8003}
BANNER

exec "$UV" run --frozen honcho start -f "$procfile" -d "$root"

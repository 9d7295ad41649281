#!/usr/bin/env bash
# `make validate-deploy`: offline checks of everything under deploy/ plus docker-compose.yml.
#   1. docker-compose.yml: `docker compose config -q` (or docker-compose v1; else a YAML structure check)
#   2. the gateway template: rendered for local use and checked with `nginx -t` (when nginx is installed),
#      and rendered the way the nginx image does it in compose/Kubernetes (no placeholder left)
#   3. deploy/rabbitmq/definitions.json matches the topology in flowpilot_shared
#   4. deploy/k8s: `kubectl kustomize` (when present) piped to deploy/k8s/validate.py (Kubernetes schemas
#      from kubernetes-validate, KEDA structure, cross-references)
#   5. deploy/observability: the dashboard (as dashboard.py builds it, Grafana's model, layout), its
#      queries and the alert rules through `promtool check rules`, `promtool test rules` on alerts.test.yaml,
#      and its kustomization's ConfigMaps (deploy/observability/check.py)
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-$(command -v uv 2>/dev/null || echo "$HOME/.local/bin/uv")}"
py() { "$UV" run --frozen python "$@"; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "docker-compose.yml"
# The secrets come from .env (`make up` writes it); a checkout without one is checked with stand-ins.
if [ ! -f .env ]; then
  export FLOWPILOT_JWT_SECRET="${FLOWPILOT_JWT_SECRET:-validate-deploy-stand-in}"
  export FLOWPILOT_SECRET_KEY="${FLOWPILOT_SECRET_KEY:-validate-deploy-stand-in}"
fi
if docker compose version >/dev/null 2>&1; then
  docker compose config -q && echo "docker compose config: ok"
elif command -v docker-compose >/dev/null 2>&1; then
  docker-compose config -q && echo "docker-compose config: ok"
else
  echo "no docker compose here (apt-get install docker-compose); checking the YAML structure only"
  py - <<'PY'
import yaml
c = yaml.safe_load(open("docker-compose.yml"))
need = {"postgres", "rabbitmq", "mailpit", "migrate", "handoff-api", "notifier", "docgen", "psa-sync", "gateway"}
assert need <= c["services"].keys(), need - c["services"].keys()
for name, svc in c["services"].items():
    for dep, cond in (svc.get("depends_on") or {}).items():
        assert dep in c["services"], f"{name} depends on unknown {dep}"
        assert cond["condition"] in {"service_healthy", "service_completed_successfully", "service_started"}
        if cond["condition"] == "service_healthy":
            assert "healthcheck" in c["services"][dep], f"{dep} has no healthcheck"
for name, svc in c["services"].items():
    for port in svc.get("ports") or []:
        if name != "gateway":
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
env = c["x-flowpilot-env"]
assert env["FLOWPILOT_ENV"] == "production", "compose must run the services in production mode"
for secret in ("FLOWPILOT_JWT_SECRET", "FLOWPILOT_SECRET_KEY"):
    assert env[secret].startswith("${" + secret + ":?"), f"{secret} must come from .env, with no default"
print("docker-compose.yml structure: ok")
PY
fi
for f in deploy/rabbitmq/rabbitmq.conf deploy/rabbitmq/definitions.json deploy/gateway/gateway.conf.template \
  deploy/gateway/Dockerfile web/package.json web/package-lock.json; do
  [ -f "$f" ] || { echo "missing $f (mounted by docker-compose.yml)" >&2; exit 1; }
done

step "gateway"
bash scripts/render-gateway.sh "$tmp/gw" 127.0.0.1:8000,127.0.0.1:8010 127.0.0.1:8001,127.0.0.1:8011 8080 >/dev/null
nginx_bin="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"
if [ -x "$nginx_bin" ]; then
  "$nginx_bin" -t -q -p "$tmp/gw" -c "$tmp/gw/nginx.conf" -e stderr && echo "nginx -t on the rendered local config: ok"
else
  echo "nginx not installed (apt-get install nginx-light): rendered, not tested"
fi
# As the nginx image's entrypoint renders it (compose and Kubernetes pass these four variables).
GATEWAY_LISTEN_PORT=8080 GATEWAY_ACCESS_LOG=/var/log/nginx/access.log GATEWAY_STATIC_ROOT=/usr/share/nginx/html \
  API_UPSTREAM_SERVERS="server handoff-api:8000;" NOTIFIER_UPSTREAM_SERVERS="server notifier:8001;" \
  DOCGEN_UPSTREAM_SERVERS="server docgen:8002;" \
  envsubst '${GATEWAY_LISTEN_PORT} ${GATEWAY_ACCESS_LOG} ${GATEWAY_STATIC_ROOT} ${API_UPSTREAM_SERVERS} ${NOTIFIER_UPSTREAM_SERVERS} ${DOCGEN_UPSTREAM_SERVERS}' \
  <deploy/gateway/gateway.conf.template >"$tmp/image.conf"
if grep -n '\${' "$tmp/image.conf"; then echo "placeholder left after rendering" >&2; exit 1; fi
for var in GATEWAY_LISTEN_PORT GATEWAY_ACCESS_LOG GATEWAY_STATIC_ROOT API_UPSTREAM_SERVERS NOTIFIER_UPSTREAM_SERVERS DOCGEN_UPSTREAM_SERVERS; do
  grep -q "$var" docker-compose.yml || { echo "docker-compose.yml does not set $var" >&2; exit 1; }
  grep -q "$var" deploy/k8s/base/gateway.yaml || { echo "gateway.yaml does not set $var" >&2; exit 1; }
done
echo "image-style rendering (compose, Kubernetes): ok"

step "RabbitMQ definitions"
py deploy/rabbitmq/render_definitions.py --check

step "Kubernetes (deploy/k8s/base)"
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize deploy/k8s/base >"$tmp/k8s.yaml"; then
  echo "kubectl kustomize: ok ($(grep -c '^kind:' "$tmp/k8s.yaml") resources)"
  py deploy/k8s/validate.py - <"$tmp/k8s.yaml" | grep -v "^ok "  # failures and the summary
else
  echo "kubectl not installed: validating the kustomization's files one by one"
  py deploy/k8s/validate.py deploy/k8s/base | grep -v "^ok "
fi

step "observability (deploy/observability)"
observability=(--dashboard-rules "$tmp/dashboard-queries.yaml")
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize deploy/observability >"$tmp/observability.yaml"
  observability+=(--kustomized "$tmp/observability.yaml")
fi
py deploy/observability/check.py "${observability[@]}"
if command -v promtool >/dev/null 2>&1; then
  promtool check rules deploy/observability/alerts.yaml "$tmp/dashboard-queries.yaml"
  promtool test rules deploy/observability/alerts.test.yaml
elif [ "${CI:-}" = true ]; then
  echo "promtool is missing (apt-get install prometheus; scripts/install.sh installs it)" >&2
  exit 1
else
  echo "promtool not installed (apt-get install prometheus): alert rules and dashboard queries not checked"
fi

step "shell scripts"
for f in scripts/run.sh scripts/render-gateway.sh scripts/validate-deploy.sh scripts/ensure-secrets.sh scripts/build-web.sh scripts/install.sh; do bash -n "$f"; done
echo "bash -n: ok"
printf '\nvalidate-deploy: all checks passed\n'

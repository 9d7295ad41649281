#!/usr/bin/env bash
# Starts local PostgreSQL and RabbitMQ when they do not answer (the machine usually has them up).
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # port name seconds
  for _ in $(seq 1 "$3"); do answers "$1" && return 0; sleep 1; done
  echo "$2 did not come up on port $1" >&2
  return 1
}

if [ -n "${FLOWPILOT_TEST_DATABASE_URL:-}${FLOWPILOT_SKIP_SERVICE_START:-}" ]; then exit 0; fi

if ! answers 5432; then
  echo "starting PostgreSQL" >&2
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  wait_for 5432 PostgreSQL 60 || exit 1
fi
if ! answers 5672; then
  echo "starting RabbitMQ" >&2
  if command -v rabbitmq-server >/dev/null 2>&1; then rabbitmq-server -detached || true; fi
  wait_for 5672 RabbitMQ 90 || exit 1
fi
# The broker accepts TCP a moment before it is ready for AMQP: wait until it says so.
if command -v rabbitmqctl >/dev/null 2>&1; then
  rabbitmqctl await_startup --timeout 90 >/dev/null 2>&1 || true
fi

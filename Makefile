# FlowPilot Escalations. `make run` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
export UV

.PHONY: help install services migrate run test test-faults lint bench demo up down validate-deploy contract screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: ## install uv (if missing) and every locked Python dependency
	@bash scripts/install.sh

services: ## start PostgreSQL and RabbitMQ if they do not answer
	@bash scripts/ensure-services.sh

migrate: install ## apply the database migrations
	$(UV) run --frozen flowpilot-migrate

.PHONY: web
web: ## build the web console (web/dist) when it is missing or older than its sources
	@bash scripts/build-web.sh

run: install services migrate web ## start all services (plus nginx gateway and SMTP sink) in the foreground
	@bash scripts/run.sh

test: install services ## run every test against real PostgreSQL and RabbitMQ
	@bash scripts/build-web.sh --check
	$(UV) run --frozen pytest -n 2 --dist loadgroup -m "not serial" $(PYTEST_ARGS)
	$(UV) run --frozen pytest -p no:xdist -m serial $(PYTEST_ARGS)$(if $(strip $(PYTEST_ARGS)), || { [ $$? -eq 5 ] && echo "PYTEST_ARGS selects no serial test"; })

test-faults: install services ## the fault-injection suite only
	$(UV) run --frozen pytest -p no:xdist -m faults $(PYTEST_ARGS)

lint: install ## ruff and mypy, and the console's ESLint and TypeScript check
	@bash scripts/build-web.sh --lint
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy shared/src services/*/src

bench: install services ## the benchmark in its own database and vhost (table; benchmarks/results/*.json; docs/benchmarks.md)
	$(UV) run --frozen python -m benchmarks.run

demo: install ## a scripted escalation against a running system
	$(UV) run --frozen python -m scripts.demo

up: ## the whole system through docker compose (PostgreSQL, RabbitMQ, mail sink, services, gateway)
	@bash scripts/ensure-secrets.sh
	@if docker compose version >/dev/null 2>&1; then docker compose -p flowpilot up --build; \
	else docker-compose -p flowpilot up --build; fi

down: ## stop what `make up` started
	@if docker compose version >/dev/null 2>&1; then docker compose -p flowpilot down; \
	else docker-compose -p flowpilot down; fi

validate-deploy: install ## check docker-compose.yml, the gateway config, RabbitMQ definitions and deploy/k8s
	@bash scripts/validate-deploy.sh

contract: install ## write docs/api (OpenAPI per service, event JSON Schema) from the code
	$(UV) run --frozen python -m scripts.export_contract

screenshots: install services web ## take the docs' screenshots again (the console's browser tests, kept in docs/screenshots)
	FLOWPILOT_SCREENSHOTS=docs $(UV) run --frozen pytest -p no:xdist tests/e2e -k "console" $(PYTEST_ARGS)

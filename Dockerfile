# One image for every FlowPilot process. Pick the process with the SERVICE build arg (sets the default
# command) or with the container command: flowpilot-handoff-api | -notifier | -docgen | -psa-sync | -migrate.
#   docker build -t flowpilot --build-arg SERVICE=notifier .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv>=0.5,<1"
WORKDIR /src
# Third-party dependencies first (a layer that survives code changes), then the workspace itself.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/handoff-api/pyproject.toml services/handoff-api/
COPY services/notifier/pyproject.toml services/notifier/
COPY services/docgen/pyproject.toml services/docgen/
COPY services/psa-sync/pyproject.toml services/psa-sync/
RUN uv sync --frozen --no-dev --no-install-workspace
COPY shared shared
COPY services services
RUN uv sync --frozen --no-dev --no-editable

FROM ${PYTHON_IMAGE}
ARG SERVICE=handoff-api
RUN groupadd --system --gid 10001 flowpilot \
 && useradd --system --uid 10001 --gid flowpilot --home-dir /app --no-create-home flowpilot
COPY --from=build /app/.venv /app/.venv
# The image is what gets deployed: it refuses to start without real secrets (development mode is
# for `make run` and the tests, which run from the checkout).
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    FLOWPILOT_SERVICE=${SERVICE} FLOWPILOT_ENV=production
WORKDIR /app
USER 10001:10001
EXPOSE 8000 8001 8002 8003
CMD ["sh", "-c", "exec flowpilot-${FLOWPILOT_SERVICE}"]

"""structlog configuration shared by every process."""

from __future__ import annotations

import logging

import structlog

from flowpilot_shared.telemetry.logs import add_trace_context

# Libraries whose INFO lines echo a request's full URL: a Teams Workflows webhook URL carries its
# signature, so those lines would put an integration secret in the log. Their warnings still show.
URL_ECHOING_LOGGERS = ("httpx",)


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Route stdlib and structlog output through one renderer at `level`."""
    logging.basicConfig(level=level.upper(), format="%(message)s")
    for name in URL_ECHOING_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            add_trace_context,  # trace_id / span_id while a span is current
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )

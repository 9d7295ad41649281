"""The live SSE stream: per-replica hub, replay from the event log, the endpoint."""

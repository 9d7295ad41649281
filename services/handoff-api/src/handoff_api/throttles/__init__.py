"""throttles domain: attempt counters of the unauthenticated endpoints."""

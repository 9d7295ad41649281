"""Escalation analytics: counts and time to pickup, from handoff-api's own tables."""

"""Durable re-escalation timers: rows in PostgreSQL, fired by a loop in every handoff-api replica."""

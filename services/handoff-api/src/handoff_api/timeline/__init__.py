"""A session's timeline: its own rows plus a projection of what other services announced."""

"""A session's timeline: its own rows plus what other services recorded, read where they wrote it."""

"""On-demand regeneration of a session's documentation (a new version; history kept)."""

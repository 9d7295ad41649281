"""HTTP pieces every service shares: health, metrics, request ids, auth dependencies."""

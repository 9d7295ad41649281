"""Email, Slack and Teams channel tests against real PostgreSQL, RabbitMQ and local fakes."""

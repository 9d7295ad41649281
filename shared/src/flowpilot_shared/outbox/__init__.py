"""The outbox relay: publishes committed events to RabbitMQ, exactly the rows that committed."""

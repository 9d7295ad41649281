"""RabbitMQ: topology (declared in one place), connections and confirmed publishing."""

"""Bell-icon notifications: the consumer that creates them."""

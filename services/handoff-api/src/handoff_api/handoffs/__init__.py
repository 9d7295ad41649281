"""handoffs domain."""

"""Delivery ledger and its API."""

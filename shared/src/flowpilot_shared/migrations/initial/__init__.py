"""The initial schema (revision 0001), frozen as it was generated and split by area to stay readable.

A migration never changes once released: these functions are only called by `versions/0001_core_schema.py`.
"""

"""The initial schema (revision 0001), split by area to stay readable.

A migration's DDL never changes once released: these functions are only called by `versions/0001_core_schema.py`.
"""

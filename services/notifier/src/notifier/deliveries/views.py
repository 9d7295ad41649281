"""Deliveries API: placeholder router until the delivery ledger lands."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

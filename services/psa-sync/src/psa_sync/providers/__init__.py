"""PSA providers by name (DESIGN.md "PSA providers and what they are sent")."""

from __future__ import annotations

from psa_sync.providers.autotask import AutotaskProvider
from psa_sync.providers.base import PsaProvider
from psa_sync.providers.connectwise import ConnectWiseProvider
from psa_sync.providers.errors import PsaNoteGone
from psa_sync.providers.halopsa import HaloPsaProvider
from psa_sync.providers.tokens import TokenCache

PROVIDERS: dict[str, type[PsaProvider]] = {
    ConnectWiseProvider.name: ConnectWiseProvider,
    AutotaskProvider.name: AutotaskProvider,
    HaloPsaProvider.name: HaloPsaProvider,
}

__all__ = [
    "PROVIDERS",
    "AutotaskProvider",
    "ConnectWiseProvider",
    "HaloPsaProvider",
    "PsaNoteGone",
    "PsaProvider",
    "TokenCache",
]

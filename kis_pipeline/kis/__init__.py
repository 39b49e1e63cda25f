"""The KIS Open API client: settings, shared token store and rate limiter, typed endpoints.

Plain Python with no Dagster imports, usable from scripts and notebooks:

    from kis_pipeline.kis import KisClient, KisSettings
    with KisClient(KisSettings.from_env()) as client:
        ...
"""

from kis_pipeline.kis.client import ClientStats, KisClient, KisResponse
from kis_pipeline.kis.errors import (
    AppKeyInUse,
    ApprovalKeyRejected,
    BusinessError,
    CredentialsRejected,
    HostUnreachable,
    KisApiError,
    KisConfigError,
    KisError,
    KisTransportError,
    PayloadError,
    RateLimited,
    ServerBusy,
    SubscriptionLimit,
    TokenExpired,
    TokenIssueThrottled,
)
from kis_pipeline.kis.settings import KisSettings

__all__ = [
    "AppKeyInUse",
    "ApprovalKeyRejected",
    "BusinessError",
    "ClientStats",
    "CredentialsRejected",
    "HostUnreachable",
    "KisApiError",
    "KisClient",
    "KisConfigError",
    "KisError",
    "KisResponse",
    "KisSettings",
    "KisTransportError",
    "PayloadError",
    "RateLimited",
    "ServerBusy",
    "SubscriptionLimit",
    "TokenExpired",
    "TokenIssueThrottled",
]

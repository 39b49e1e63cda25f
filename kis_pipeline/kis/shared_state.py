"""Where an app key's rate limit and tokens live: files in KIS_STATE_DIR, or KIS_STATE_URL.

Files serve every process of one machine; Redis (`KIS_STATE_URL=redis://...`) serves workers on
several hosts. Redis is imported only when it is asked for.
"""

from __future__ import annotations

from kis_pipeline.kis.auth import FileTokenStore, TokenStore, WaitNotice, log_wait
from kis_pipeline.kis.ratelimit import FileRateLimiter, RateLimiter
from kis_pipeline.kis.settings import KisSettings


def rate_limiter(settings: KisSettings) -> RateLimiter:
    if settings.state_url:
        from kis_pipeline.kis.redis_state import RedisRateLimiter, connect

        return RedisRateLimiter(connect(settings.state_url), settings.key_id, settings.rate_limit)
    return FileRateLimiter(
        settings.state_dir / f"ratelimit-{settings.key_id}.gcra", settings.rate_limit
    )


def token_store(settings: KisSettings, *, on_wait: WaitNotice = log_wait) -> TokenStore:
    if settings.state_url:
        from kis_pipeline.kis.redis_state import RedisTokenStore, connect

        return RedisTokenStore(connect(settings.state_url), settings.key_id, on_wait=on_wait)
    return FileTokenStore(settings.state_dir, settings.key_id, on_wait=on_wait)


def require_reachable(settings: KisSettings) -> None:
    """Fail now, with one line, when KIS_STATE_URL names a Redis that does not answer.

    Commands call this before they start work, so that a wrong URL is one error, not one per
    run or per session.
    """
    if settings.state_url:
        from kis_pipeline.kis.redis_state import connect

        state = connect(settings.state_url)
        state.run(state.client.ping)
